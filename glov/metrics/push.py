"""Pushing one step's metrics to a Pushgateway without ever stalling the step.

Two concerns live here:

* `deadline_handler`: urllib's timeout bounds each socket operation, not the
  request (a server that trickles bytes, or a DNS lookup, can take longer). The
  request therefore runs in a daemon thread that the caller stops waiting for
  at the deadline; the thread ends by itself at its own socket timeout.
* `StepSnapshot`: what goes into one push group. Gauges are pushed as they are
  now; counters as the increase since the group began. Every group then holds
  only its own step's counts, so `sum()` over a run's step groups is the run's
  total whether one process recorded many steps or each step ran in its own pod.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import default_handler
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from glov.metrics.names import SampleKey


def deadline_handler(deadline_seconds: float) -> Callable[..., Callable[[], None]]:
    """A prometheus_client push handler whose whole request ends by the deadline."""

    def handler(url, method, timeout, headers, data) -> Callable[[], None]:
        def send() -> None:
            errors: list[BaseException] = []

            def attempt() -> None:
                try:
                    default_handler(url, method, deadline_seconds, headers, data)()
                except BaseException as exc:  # handed to the caller's thread below
                    errors.append(exc)

            worker = threading.Thread(target=attempt, name="glov-metrics-push", daemon=True)
            worker.start()
            worker.join(deadline_seconds)
            if worker.is_alive():
                raise TimeoutError(f"no answer from {url} within {deadline_seconds:g}s")
            if errors:
                raise errors[0]

        return send

    return handler


def _key(name: str, labels: dict[str, str]) -> SampleKey:
    return name, tuple(sorted(labels.items()))


def counter_totals(families: Iterable[Metric]) -> dict[SampleKey, float]:
    """Current value of every counter sample (the `_total` ones; `_created` is skipped)."""
    return {
        _key(s.name, s.labels): s.value
        for f in families
        if f.type == "counter"
        for s in f.samples
        if s.name.endswith("_total")
    }


class StepSnapshot(Collector):
    """A frozen copy of a registry with counters rebased to `baseline`."""

    def __init__(self, families: Iterable[Metric], baseline: dict[SampleKey, float]):
        self._families: list[Metric] = []
        for family in families:
            copy = Metric(family.name, family.documentation, family.type, family.unit)
            for s in family.samples:
                if family.type == "counter":
                    if not s.name.endswith("_total"):
                        continue  # `_created` would be a wrong start time for a delta
                    value = s.value - baseline.get(_key(s.name, s.labels), 0.0)
                else:
                    value = s.value
                copy.add_sample(s.name, dict(s.labels), value)
            self._families.append(copy)

    def collect(self) -> Iterable[Metric]:
        return list(self._families)

    def registry(self) -> CollectorRegistry:
        reg = CollectorRegistry(auto_describe=False)
        reg.register(self)
        return reg
