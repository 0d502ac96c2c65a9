"""RunMetrics: the metrics of one arm of one run, recorded step by step.

Each recorder owns its CollectorRegistry (no global state, so several arms or
runs in one process, and tests, never mix). It is pushed (`push`) to a
Pushgateway after every step, by the loop and by pipeline pods alike.

Push groups are {job, run, arm, step}: `arm` is there because a GLOV run sweeps
several arms (alphas, baselines) with the same run id, and without it their
step groups would replace each other.

push uses PUT (replace the group), not POST (merge into it): each group has
exactly one writer, the process that recorded that step, and it pushes the
complete state of the group every time. A retried step pod therefore replaces
what the failed attempt left instead of mixing its series with stale ones
(e.g. a stage failure or a rejection reason the retry did not see).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway
from prometheus_client.metrics import MetricWrapperBase

from glov.config.deploy import MetricsConfig
from glov.metrics.names import (
    FINAL_VARIANTS,
    IDENTITY_LABELS,
    REJECT_REASONS,
    SPECS,
    STAGES,
    SampleKey,
    check_label_value,
    check_member,
)
from glov.metrics.push import StepSnapshot, counter_totals, deadline_handler

log = logging.getLogger(__name__)


class RunMetrics:
    def __init__(
        self,
        cfg: MetricsConfig,
        *,
        run: str,
        pipeline: str,
        method: str,
        dataset: str,
        model: str,
        arm: str | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.cfg = cfg
        values = {
            "run": run,
            "pipeline": pipeline,
            "method": method,
            "arm": method if arm is None else arm,
            "dataset": dataset,
            "model": model,
        }
        self.identity = {k: check_label_value(k, values[k]) for k in IDENTITY_LABELS}
        self.registry = CollectorRegistry(auto_describe=True)
        self._metrics: dict[str, MetricWrapperBase] = {}
        for spec in SPECS.values():
            cls = Counter if spec.kind == "counter" else Gauge
            # prometheus_client appends `_total` to counter names itself.
            name = spec.name.removesuffix("_total") if spec.kind == "counter" else spec.name
            self._metrics[spec.name] = cls(
                name, spec.help, IDENTITY_LABELS + spec.labels, registry=self.registry
            )
        self._clock = clock
        self._warned = False
        # Push-group bookkeeping (see push.StepSnapshot).
        self._group: str | None = None
        self._group_base: dict[SampleKey, float] = {}
        self._pushed: dict[SampleKey, float] = {}

    # -- recording ---------------------------------------------------------

    def _series(self, name: str, **labels: str) -> Any:
        return self._metrics[name].labels(**self.identity, **labels)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage; a raising stage counts as a failure and re-raises.

        Push in a `finally` after the step so a failure reaches the gateway too.
        """
        check_member("stage", name, STAGES)
        start = time.perf_counter()
        try:
            yield
        except Exception:
            self._series("glov_stage_failures_total", stage=name).inc()
            raise
        seconds = time.perf_counter() - start
        self._series("glov_stage_duration_seconds", stage=name).set(seconds)
        self._series("glov_stage_seconds_total", stage=name).inc(seconds)
        # A finished stage is progress: a run stuck before its first step
        # (e.g. in data preparation) must still be able to look stalled.
        self._series("glov_last_success_timestamp_seconds").set(self._clock())

    def record_step(
        self,
        step: int,
        *,
        best_fitness: float,
        step_fitness: float,
        generated: int,
        rejected: Mapping[str, int],
        evaluated: int,
        llm_tokens: int,
        llm_seconds: float,
        cache_hits: int,
        cache_misses: int,
        steering_norm: float | None,
        gpu_peak_bytes: int | None = None,
    ) -> None:
        """Record one finished step. Counter arguments are this step's counts.

        gpu_peak_bytes=None reads torch.cuda.max_memory_allocated() when this
        process uses CUDA, and leaves the gauge absent otherwise.
        """
        # Validate everything before touching a series: no half-recorded step.
        for reason in rejected:
            check_member("reason", reason, REJECT_REASONS)
        counts = {"generated": generated, "evaluated": evaluated, "llm_tokens": llm_tokens}
        counts |= {"cache_hits": cache_hits, "cache_misses": cache_misses} | dict(rejected)
        for what, n in counts.items():
            if n < 0:
                raise ValueError(f"{what}={n} is negative; pass this step's count")
        if llm_seconds < 0:
            raise ValueError(f"llm_seconds={llm_seconds} is negative")

        self._series("glov_current_step").set(step)
        self._series("glov_steps_completed_total").inc()
        self._series("glov_best_fitness_ratio").set(best_fitness)
        self._series("glov_step_fitness_ratio").set(step_fitness)
        self._series("glov_candidates_generated_total").inc(generated)
        self._series("glov_candidates_evaluated_total").inc(evaluated)
        # Every reason gets a series (0 when absent) so ratios and alerts see it.
        for reason in REJECT_REASONS:
            self._series("glov_candidates_rejected_total", reason=reason).inc(
                rejected.get(reason, 0)
            )
        self._series("glov_llm_generated_tokens_total").inc(llm_tokens)
        self._series("glov_llm_generation_seconds_total").inc(llm_seconds)
        if llm_seconds > 0:
            self._series("glov_llm_tokens_per_second").set(llm_tokens / llm_seconds)
        self._series("glov_feature_cache_hits_total").inc(cache_hits)
        self._series("glov_feature_cache_misses_total").inc(cache_misses)
        if steering_norm is not None:
            self._series("glov_steering_vector_norm").set(steering_norm)
        peak = _cuda_peak_bytes() if gpu_peak_bytes is None else gpu_peak_bytes
        if peak is not None:
            self._series("glov_gpu_memory_peak_bytes").set(peak)
        self._series("glov_last_success_timestamp_seconds").set(self._clock())

    def record_final(self, accuracies: Mapping[str, float]) -> None:
        """Record the final test accuracies, keyed by variant (best, top3, s_temp, ds_temp)."""
        for variant in accuracies:
            check_member("variant", variant, FINAL_VARIANTS)
        for variant, accuracy in accuracies.items():
            self._series("glov_final_accuracy_ratio", variant=variant).set(accuracy)
        self._series("glov_last_success_timestamp_seconds").set(self._clock())

    # -- export ------------------------------------------------------------

    def push(self, step: int | str) -> bool:
        """Push to the group {job, run, arm, step}; False when off or failed, never raises.

        Counters go out as their increase since this group began, so each step
        group carries only its own counts. A group begins at the first push of
        a new `step` value and is based on the last *successful* push: counts a
        failed push did not deliver land in the next group and are not lost.
        Push steps in order; going back to an earlier step's group is not supported.
        """
        gateway = self.cfg.gateway()
        if not gateway:
            return False
        group = str(step)
        families = list(self.registry.collect())
        if group != self._group:
            self._group, self._group_base = group, self._pushed
        snapshot = StepSnapshot(families, self._group_base)
        try:
            # Inside the try: even a malformed step name must not fail the step.
            step_label = check_label_value("step", group)
            key = {"run": self.identity["run"], "arm": self.identity["arm"], "step": step_label}
            push_to_gateway(
                gateway,
                job=self.cfg.job,
                registry=snapshot.registry(),
                grouping_key=key,
                timeout=self.cfg.timeout_seconds,
                handler=deadline_handler(self.cfg.timeout_seconds),
            )
        except Exception as exc:  # metrics must never fail a step
            self._warn(gateway, exc)
            return False
        self._pushed = counter_totals(families)
        return True

    def _warn(self, gateway: str, exc: Exception) -> None:
        # One warning per recorder: a dead gateway would otherwise log every step.
        if self._warned:
            log.debug("metrics push to %s failed again: %s", gateway, exc)
            return
        self._warned = True
        log.warning(
            "metrics push to Pushgateway %s failed (%s: %s); the run goes on, "
            "later failures are logged at debug level",
            gateway,
            type(exc).__name__,
            exc,
        )


def _cuda_peak_bytes() -> int | None:
    # Only when torch is already imported: importing it here would cost seconds
    # and a process that never imported torch has no CUDA memory to report.
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return int(torch.cuda.max_memory_allocated())
