"""The operator's Prometheus metrics, served on --metrics-port (/metrics).

The pipeline's own series (per-step fitness, tokens, ...) come from the
Pushgateway; these say how the operator is doing: Kubeflow calls, runs it
started, runs that finished, and each GlovRun's best fitness so far.
"""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        kw = {"registry": registry} if registry is not None else {}
        self.kubeflow_requests = Counter(
            "glov_operator_kubeflow_requests_total",
            "Kubeflow Pipelines API calls by operation and result (ok or a condition reason)",
            ["operation", "result"],
            **kw,
        )
        self.submissions = Counter(
            "glov_operator_runs_submitted_total",
            "Kubeflow runs the operator started (created, adopted after a restart, resumed)",
            ["how"],
            **kw,
        )
        self.finished = Counter(
            "glov_operator_runs_finished_total",
            "GlovRuns that reached a final phase",
            ["phase"],
            **kw,
        )
        self.best_fitness = Gauge(
            "glov_operator_run_best_fitness",
            "Best fitness a GlovRun's run directory shows so far",
            ["namespace", "glovrun"],
            **kw,
        )

    def forget(self, namespace: str, name: str) -> None:
        """Drop a deleted GlovRun's series."""
        with contextlib.suppress(KeyError):  # never set: nothing to drop
            self.best_fitness.remove(namespace, name)
