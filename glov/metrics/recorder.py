"""RunMetrics: the metrics of one arm of one run, pushed as one Pushgateway group.

Each recorder owns its CollectorRegistry (no global state, so several arms or
runs in one process, and tests, never mix).

One push group per run and arm, {job, run, arm}; `arm` is in it because a GLOV
run sweeps several arms (alphas, baselines) under one run id. Every push PUTs
the recorder's complete state, replacing the group. Steps of one arm may run in
different pods, so a pod's state must already contain what earlier pods pushed,
else its PUT would reset the run's counters. Two kinds of series therefore:

* step series (fitness, current step, steps and candidates counted, LLM tokens
  and seconds, steering norm) are computed from the step records the recorder
  was given, one entry per step number. The run layer gives a new recorder
  every finished record of the run directory, so every pod pushes the same run
  totals, and a step recorded twice (a retried pod) replaces its entry instead
  of counting twice. Counters are sums over the entries; gauges come from the
  newest step that set them.
* process series (stage durations, seconds and failures, feature-cache lookups,
  GPU memory) describe the process that pushes. They start at zero in each pod,
  which rate()/increase() read as a counter reset, as for a restarted exporter;
  a retried pod's push thus also clears the failed attempt's stage failures.

glov_last_success_timestamp_seconds is the newest of a step record's own time
and this process's completed stages, so replaying old records is not progress.
The final push adds glov_run_finished_timestamp_seconds, which ends the
"stalled" alert and starts the group's expiry (push.expire_groups).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, push_to_gateway
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from glov.config.store_metrics_pipeline import MetricsConfig
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
from glov.metrics.push import deadline_handler, expire_groups

log = logging.getLogger(__name__)

LAST_SUCCESS = "glov_last_success_timestamp_seconds"

# (gateway, run) pairs already warned about in this process: a run makes a
# recorder per arm, and the loop and the final evaluation make their own, so a
# dead gateway would otherwise warn several times for one run.
_WARNED: set[tuple[str, str]] = set()


def _key(name: str, **labels: str) -> SampleKey:
    return name, tuple(sorted(labels.items()))


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
        llm: str,
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
            "llm": llm,
        }
        self.identity = {k: check_label_value(k, values[k]) for k in IDENTITY_LABELS}
        self._steps: dict[int, dict[SampleKey, float]] = {}
        self._process: dict[SampleKey, float] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Exposition(self))
        self._clock = clock

    @property
    def grouping_key(self) -> dict[str, str]:
        """The push group besides `job`: one per run and arm."""
        return {"run": self.identity["run"], "arm": self.identity["arm"]}

    # -- recording ---------------------------------------------------------

    def _add(self, key: SampleKey, amount: float) -> None:
        self._process[key] = self._process.get(key, 0.0) + amount

    def _touch(self, at: float) -> None:
        key = _key(LAST_SUCCESS)
        self._process[key] = max(self._process.get(key, at), at)

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
            self._add(_key("glov_stage_failures_total", stage=name), 1)
            raise
        self.record_stage(name, time.perf_counter() - start)

    def record_stage(self, name: str, seconds: float) -> None:
        """A stage that completed in `seconds` (for stages timed outside `stage`)."""
        check_member("stage", name, STAGES)
        if seconds < 0:
            raise ValueError(f"seconds={seconds} is negative")
        self._process[_key("glov_stage_duration_seconds", stage=name)] = seconds
        self._add(_key("glov_stage_seconds_total", stage=name), seconds)
        # A finished stage is progress: a run stuck before its first step
        # (e.g. in data preparation) must still be able to look stalled.
        self._touch(self._clock())

    def record_step(
        self,
        step: int,
        *,
        best_fitness: float,
        step_fitness: float,
        generated: int,
        rejected: Mapping[str, int],
        evaluated: int,
        clean: int = 0,
        repaired: int = 0,
        llm_tokens: int,
        llm_seconds: float,
        cache_hits: int,
        cache_misses: int,
        steering_norm: float | None,
        gpu_peak_bytes: int | None = None,
        finished_at: float | None = None,
    ) -> None:
        """Record one finished step; counter arguments are this step's counts.

        Recording a step number again replaces its counts (a retried step).
        cache_hits/misses are this process's lookups for the step (0 when
        replaying a record). finished_at is when the step finished (the
        record's time; default now). gpu_peak_bytes=None reads
        torch.cuda.max_memory_allocated() when this process uses CUDA.
        """
        # Validate everything before touching a series: no half-recorded step.
        for reason in rejected:
            check_member("reason", reason, REJECT_REASONS)
        counts = {
            "step": step,
            "generated": generated,
            "evaluated": evaluated,
            "clean": clean,
            "repaired": repaired,
        }
        counts |= {"llm_tokens": llm_tokens, "llm_seconds": llm_seconds}
        counts |= {"cache_hits": cache_hits, "cache_misses": cache_misses} | dict(rejected)
        for what, n in counts.items():
            if n < 0:
                raise ValueError(f"{what}={n} is negative; pass this step's count")

        samples = {
            _key("glov_current_step"): step,
            _key("glov_steps_completed_total"): 1,
            _key("glov_best_fitness_ratio"): best_fitness,
            _key("glov_step_fitness_ratio"): step_fitness,
            _key("glov_candidates_generated_total"): generated,
            _key("glov_candidates_evaluated_total"): evaluated,
            _key("glov_candidates_clean_total"): clean,
            _key("glov_candidates_repaired_total"): repaired,
            _key("glov_llm_generated_tokens_total"): llm_tokens,
            _key("glov_llm_generation_seconds_total"): llm_seconds,
        }
        # Every reason gets a series (0 when absent) so ratios and alerts see it.
        for reason in REJECT_REASONS:
            samples[_key("glov_candidates_rejected_total", reason=reason)] = rejected.get(reason, 0)
        if llm_seconds > 0:
            samples[_key("glov_llm_tokens_per_second")] = llm_tokens / llm_seconds
        if steering_norm is not None:
            samples[_key("glov_steering_vector_norm")] = steering_norm
        self._steps[step] = {k: float(v) for k, v in samples.items()}

        self._add(_key("glov_feature_cache_hits_total"), cache_hits)
        self._add(_key("glov_feature_cache_misses_total"), cache_misses)
        peak = _cuda_peak_bytes() if gpu_peak_bytes is None else gpu_peak_bytes
        if peak is not None:
            self._process[_key("glov_gpu_memory_peak_bytes")] = peak
        self._touch(self._clock() if finished_at is None else finished_at)

    def record_final(self, accuracies: Mapping[str, float]) -> None:
        """Record the final test accuracies, keyed by variant (best, top3, s_temp, ds_temp)."""
        for variant in accuracies:
            check_member("variant", variant, FINAL_VARIANTS)
        for variant, accuracy in accuracies.items():
            self._process[_key("glov_final_accuracy_ratio", variant=variant)] = accuracy
        now = self._clock()
        self._process[_key("glov_run_finished_timestamp_seconds")] = now
        self._touch(now)

    # -- export ------------------------------------------------------------

    def families(self) -> list[Metric]:
        """The current state as metric families (step series first computed)."""
        values: dict[SampleKey, float] = {}
        for step in sorted(self._steps):
            for key, value in self._steps[step].items():
                if SPECS[key[0]].kind == "counter":
                    values[key] = values.get(key, 0.0) + value
                else:
                    values[key] = value  # the newest step wins
        values |= self._process
        out = []
        for spec in SPECS.values():
            samples = sorted((k, v) for k, v in values.items() if k[0] == spec.name)
            if not samples:
                continue
            # A counter family is named without `_total`; its samples carry it.
            family = Metric(spec.name.removesuffix("_total"), spec.help, spec.kind)
            for (name, extra), value in samples:
                family.add_sample(name, {**self.identity, **dict(extra)}, value)
            out.append(family)
        return out

    def push(self) -> bool:
        """Replace the group {job, run, arm} with this state; False when off or failed.

        Never raises: a dead or slow gateway costs one warning per run and
        at most metrics.timeout_seconds.
        """
        gateway = self.cfg.gateway()
        if not gateway:
            return False
        try:
            push_to_gateway(
                gateway,
                job=self.cfg.job,
                registry=self.registry,
                grouping_key=self.grouping_key,
                timeout=self.cfg.timeout_seconds,
                handler=deadline_handler(self.cfg.timeout_seconds),
            )
        except Exception as exc:  # metrics must never fail a step
            self._warn(gateway, exc)
            return False
        return True

    def expire_old_groups(self) -> list[dict[str, str]]:
        """Delete this job's finished or abandoned groups (MetricsConfig TTLs); never raises.

        Returns the deleted groups' labels. Failures share push's one warning per run.
        """
        gateway = self.cfg.gateway()
        if not gateway:
            return []
        try:
            return expire_groups(
                gateway,
                self.cfg.job,
                self._clock(),
                self.cfg.finished_ttl_seconds,
                self.cfg.abandoned_ttl_seconds,
                self.cfg.timeout_seconds,
            )
        except Exception as exc:
            self._warn(gateway, exc)
            return []

    def _warn(self, gateway: str, exc: Exception) -> None:
        # One warning per run and gateway: a dead gateway would otherwise log every step.
        seen = (gateway, self.identity["run"])
        if seen in _WARNED:
            log.debug("metrics push to %s failed again: %s", gateway, exc)
            return
        _WARNED.add(seen)
        log.warning(
            "metrics push to Pushgateway %s failed (%s: %s); the run goes on, "
            "later failures are logged at debug level",
            gateway,
            type(exc).__name__,
            exc,
        )


class _Exposition(Collector):
    """Exposes a recorder's state, computed at collection time."""

    def __init__(self, metrics: RunMetrics):
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics.families()


def _cuda_peak_bytes() -> int | None:
    # Only when torch is already imported: importing it here would cost seconds
    # and a process that never imported torch has no CUDA memory to report.
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return int(torch.cuda.max_memory_allocated())
