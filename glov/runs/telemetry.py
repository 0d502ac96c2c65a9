"""A run's Prometheus series: one recorder per arm, fed from step records and the report.

Shared by the in-process loop and the pipeline tasks; `pipeline` labels which
of the two pushed a series ("in-process" or "kfp").
"""

from __future__ import annotations

from glov.config import GlovConfig
from glov.metrics import RunMetrics, slug
from glov.search.arms import Arm


def arm_metrics(cfg: GlovConfig, run_id: str, arm: Arm, dataset: str, pipeline: str) -> RunMetrics:
    """One recorder per arm: its push groups are {job, run, arm, step}."""
    return RunMetrics(
        cfg.metrics,
        run=slug(run_id),
        pipeline=slug(pipeline),
        method=arm.method,
        dataset=slug(dataset),
        model=slug(cfg.vlm.model),
        arm=slug(arm.name),
    )


def record_step(metrics: RunMetrics, record: dict, cache_hits: int, cache_misses: int) -> None:
    step_best = record["step_best"]
    metrics.record_step(
        record["step"],
        best_fitness=record["best"]["fitness"],
        step_fitness=step_best if step_best is not None else 0.0,
        generated=record["generated"],
        rejected=record["rejected"],
        evaluated=len(record["scored"]),
        llm_tokens=record["llm"]["new_tokens"],
        llm_seconds=record["llm"]["seconds"],
        cache_hits=cache_hits,
        cache_misses=cache_misses,
        steering_norm=record["guidance"].get("norm"),
    )


def record_final(metrics: RunMetrics, report: dict, arm_name: str) -> None:
    arm = report["arms"].get(arm_name)
    if arm is None:
        return
    b = report["baselines"]
    metrics.record_final(
        {
            "best": arm["test_best"],
            "top3": arm["test_top_n"],
            "s_temp": b["s_temp"]["test"],
            "ds_temp": b["ds_temp"]["test"],
        }
    )
