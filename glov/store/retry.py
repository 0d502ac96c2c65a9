"""Retry a call on transient failures with exponential backoff and jitter.

Kept free of any S3 specifics: the caller says which exceptions are transient.
The jitter spreads the retries of many pods that lost the same object store at
the same moment, so they do not hammer it in lock-step when it comes back.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

RetryOn = Callable[[BaseException], bool] | type[BaseException] | tuple[type[BaseException], ...]


class RetryExhausted(Exception):
    """Every attempt failed with a transient error; `cause` is the last one."""

    def __init__(self, attempts: int, cause: BaseException):
        self.attempts = attempts
        self.cause = cause
        super().__init__(f"gave up after {attempts} attempts: {cause}")


def backoff_delay(attempt: int, base_delay: float, max_delay: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    "Equal jitter": half of the exponential step is fixed, half random. The
    fixed half guarantees the retries span a minimum time (enough to ride out a
    restart); the random half de-synchronises concurrent clients.
    """
    cap = min(max_delay, base_delay * 2 ** (attempt - 1))
    return cap / 2 + random.uniform(0, cap / 2)


def max_total_delay(attempts: int, base_delay: float, max_delay: float) -> float:
    """Upper bound of the time `retry` sleeps in total (excluding the calls)."""
    return sum(min(max_delay, base_delay * 2 ** (i - 1)) for i in range(1, attempts))


def _predicate(retry_on: RetryOn) -> Callable[[BaseException], bool]:
    # An exception class is itself callable, so test for classes before callables.
    if isinstance(retry_on, tuple) or (
        isinstance(retry_on, type) and issubclass(retry_on, BaseException)
    ):
        types = retry_on
        return lambda exc: isinstance(exc, types)
    return retry_on


def retry(
    fn: Callable[[], T],
    attempts: int,
    base_delay: float,
    max_delay: float,
    retry_on: RetryOn,
    *,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `fn` until it succeeds, at most `attempts` times.

    An exception for which `retry_on` is false propagates at once (an auth
    error does not get better by waiting). When the attempts run out the last
    transient error is raised wrapped in RetryExhausted, so the caller can
    report "unreachable" rather than whatever the last symptom was.
    `on_retry(attempt, exc, delay)` is called before each wait (for logging).
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    is_transient = _predicate(retry_on)
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            if attempt == attempts:
                raise RetryExhausted(attempts, exc) from exc
            delay = backoff_delay(attempt, base_delay, max_delay)
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # the loop always returns or raises
