"""retry(): which errors are retried, how often, and how long it waits."""

from __future__ import annotations

import pytest

from glov.store.retry import RetryExhausted, backoff_delay, max_total_delay, retry


class Flaky:
    """Fails with `exc` the first `failures` calls, then returns "done"."""

    def __init__(self, failures: int, exc: Exception):
        self.failures = failures
        self.exc = exc
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return "done"


def test_transient_errors_are_retried_until_success() -> None:
    slept: list[float] = []
    fn = Flaky(3, ConnectionResetError("reset"))
    assert retry(fn, 5, 0.1, 1.0, (ConnectionError,), sleep=slept.append) == "done"
    assert fn.calls == 4
    assert len(slept) == 3


def test_other_errors_propagate_at_once() -> None:
    fn = Flaky(1, PermissionError("denied"))
    with pytest.raises(PermissionError):
        retry(fn, 5, 0.1, 1.0, lambda e: isinstance(e, ConnectionError), sleep=lambda s: None)
    assert fn.calls == 1


def test_exhaustion_wraps_the_last_cause() -> None:
    fn = Flaky(10, TimeoutError("slow"))
    seen: list[int] = []
    with pytest.raises(RetryExhausted) as info:
        retry(
            fn,
            4,
            0.1,
            1.0,
            TimeoutError,
            sleep=lambda s: None,
            on_retry=lambda a, e, d: seen.append(a),
        )
    assert info.value.attempts == 4
    assert isinstance(info.value.cause, TimeoutError)
    assert fn.calls == 4
    assert seen == [1, 2, 3]  # no wait after the last attempt


def test_a_single_exception_class_is_accepted_as_retry_on() -> None:
    fn = Flaky(1, ConnectionRefusedError())
    assert retry(fn, 2, 0.01, 0.01, ConnectionError, sleep=lambda s: None) == "done"
    fn = Flaky(1, ValueError())
    with pytest.raises(ValueError):
        retry(fn, 2, 0.01, 0.01, ConnectionError, sleep=lambda s: None)


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    for attempt, cap in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        delays = {backoff_delay(attempt, 0.1, 1.0) for _ in range(50)}
        assert all(cap / 2 <= d <= cap for d in delays)
        assert len(delays) > 1  # jittered, so clients do not retry in lock-step
    assert max_total_delay(5, 0.1, 1.0) == pytest.approx(0.1 + 0.2 + 0.4 + 0.8)


def test_total_wait_is_bounded() -> None:
    slept: list[float] = []
    with pytest.raises(RetryExhausted):
        retry(Flaky(99, ConnectionError()), 8, 0.25, 4.0, ConnectionError, sleep=slept.append)
    bound = max_total_delay(8, 0.25, 4.0)
    assert bound / 2 <= sum(slept) <= bound


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError):
        retry(lambda: 1, 0, 0.1, 1.0, ConnectionError)
