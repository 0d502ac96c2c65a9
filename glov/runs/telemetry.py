"""A run's Prometheus series: one recorder per arm, fed from step records and the report.

Shared by the in-process loop and the pipeline tasks; `pipeline` labels which
of the two pushed a series ("in-process" or "kfp"). The run directory is the
source of truth: a recorder starts from every finished step of its arm there,
so whichever pod pushes the arm's one group pushes the run's totals so far.
"""

from __future__ import annotations

from glov.config import GlovConfig
from glov.metrics import RunMetrics, slug
from glov.runs.rundir import RunDir
from glov.search.arms import Arm, arms_for
from glov.search.state import step_answers


def arm_metrics(cfg: GlovConfig, run: RunDir, arm: Arm, dataset: str, pipeline: str) -> RunMetrics:
    """The arm's recorder (push group {job, run, arm}), holding its finished steps."""
    metrics = RunMetrics(
        cfg.metrics,
        run=slug(run.run_id),
        pipeline=slug(pipeline),
        method=arm.method,
        dataset=slug(dataset),
        model=slug(cfg.vlm.model),
        llm=slug(cfg.llm.model),
        arm=slug(arm.name),
    )
    for record in run.steps(arm.name):
        # Replayed records were looked up by other processes: no cache counts here.
        record_step(metrics, record, 0, 0)
    return metrics


def run_metrics(cfg: GlovConfig, run: RunDir, dataset: str, pipeline: str) -> list[RunMetrics]:
    """Every arm's recorder, in arms_for order."""
    return [arm_metrics(cfg, run, arm, dataset, pipeline) for arm in arms_for(cfg)]


def record_data_stage(recorders: list[RunMetrics], seconds: float) -> None:
    """The run's data preparation, pushed to every arm's group; expires old groups first.

    Runs once per run start, so it is where the Pushgateway gets cleaned of the
    groups of runs that finished or died long ago.
    """
    if recorders:
        recorders[0].expire_old_groups()
    for metrics in recorders:
        metrics.record_stage("data", seconds)
        metrics.push()


def record_step(metrics: RunMetrics, record: dict, cache_hits: int, cache_misses: int) -> None:
    step_best = record["step_best"]
    metrics.record_step(
        record["step"],
        best_fitness=record["best"]["fitness"],
        step_fitness=step_best if step_best is not None else 0.0,
        generated=record["generated"],
        rejected=record["rejected"],
        evaluated=len(record["scored"]),
        clean=step_answers(record)["clean"],
        repaired=record.get("repaired", 0),
        llm_tokens=record["llm"]["new_tokens"],
        llm_seconds=record["llm"]["seconds"],
        cache_hits=cache_hits,
        cache_misses=cache_misses,
        steering_norm=record["guidance"].get("norm"),
        finished_at=record.get("time"),
    )


def record_final(metrics: RunMetrics, report: dict, arm_name: str) -> None:
    arm = report["arms"].get(arm_name)
    if arm is None:
        return
    b = report["baselines"]
    values = {
        "best": arm["test_best"],
        "top3": arm["test_top_n"],
        "s_temp": b["s_temp"]["test"],
        "ds_temp": b["ds_temp"]["test"],
    }
    # None: not evaluated for this run (DS-TEMP of a generative VLM, safety ensembles).
    metrics.record_final({k: v for k, v in values.items() if v is not None})
