"""A dead or hanging Pushgateway never fails or stalls a step."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from glov.config.store_metrics_pipeline import MetricsConfig
from glov.metrics import RunMetrics, recorder

IDENT = dict(
    run="r1", pipeline="cli", method="glov", dataset="animal-mnist", model="ViT-B-32", llm="smollm2"
)
TIMEOUT = 0.5
SLACK = 0.5  # thread start/join and logging overhead on a loaded 2-core box


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    # Warnings are once per (gateway, run) in a process; every test starts afresh.
    monkeypatch.setattr(recorder, "_WARNED", set())


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket closes


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and reads requests but never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def record_and_push_twice(gateway: str, caplog) -> tuple[list[bool], list[float]]:
    m = RunMetrics(MetricsConfig(pushgateway=gateway, timeout_seconds=TIMEOUT), **IDENT)
    results, durations = [], []
    with caplog.at_level(logging.DEBUG, logger="glov.metrics"):
        for step in (1, 2):
            m.record_step(
                step,
                best_fitness=0.5,
                step_fitness=0.5,
                generated=1,
                rejected={},
                evaluated=1,
                llm_tokens=1,
                llm_seconds=0.1,
                cache_hits=0,
                cache_misses=1,
                steering_norm=None,
            )
            start = time.monotonic()
            results.append(m.push())
            durations.append(time.monotonic() - start)
    return results, durations


def warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING]


def test_unreachable_gateway(closed_port, caplog):
    results, durations = record_and_push_twice(f"127.0.0.1:{closed_port}", caplog)
    assert results == [False, False]
    assert max(durations) < TIMEOUT + SLACK
    assert len(warnings(caplog)) == 1
    assert "Connection refused" in warnings(caplog)[0].getMessage()


def test_gateway_that_never_answers(silent_server, caplog):
    results, durations = record_and_push_twice(f"http://127.0.0.1:{silent_server}", caplog)
    assert results == [False, False]
    # Bounded by the deadline, not by urllib's per-operation timeout alone.
    assert all(TIMEOUT * 0.9 <= d < TIMEOUT + SLACK for d in durations), durations
    (warning,) = warnings(caplog)
    assert "TimeoutError" in warning.getMessage()
    # The second failure is still visible at debug level.
    assert any("failed again" in r.getMessage() for r in caplog.records)


def test_expiring_groups_on_a_dead_gateway_neither_raises_nor_warns_again(closed_port, caplog):
    m = RunMetrics(MetricsConfig(pushgateway=f"127.0.0.1:{closed_port}"), **IDENT)
    with caplog.at_level(logging.WARNING, logger="glov.metrics"):
        assert m.expire_old_groups() == []
        assert m.push() is False
        assert m.expire_old_groups() == []
    (warning,) = warnings(caplog)
    assert "Connection refused" in warning.getMessage()


def test_dead_gateway_costs_one_warning_per_run_not_per_recorder(closed_port, caplog):
    # The loop and the final evaluation each make a recorder per arm: with two
    # arms that is four recorders of one run pushing to the same dead gateway.
    cfg = MetricsConfig(pushgateway=f"127.0.0.1:{closed_port}", timeout_seconds=TIMEOUT)
    with caplog.at_level(logging.DEBUG, logger="glov.metrics"):
        for arm in ("glov-alpha1", "llm-opt", "glov-alpha1", "llm-opt"):
            assert RunMetrics(cfg, **IDENT, arm=arm).push() is False
        other_run = dict(IDENT, run="r2")
        assert RunMetrics(cfg, **other_run, arm="llm-opt").push() is False
    # One for run r1, one for run r2.
    assert len(warnings(caplog)) == 2
