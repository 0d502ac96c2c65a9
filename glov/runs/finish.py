"""Finishing a run: the test-split evaluation, the report, the final metrics.

Shared by the loop and the pipeline's final task. A report that already covers
every arm's finished steps is reused (a retried or re-run final task).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack

from glov.config import GlovConfig
from glov.data import DataBundle
from glov.metrics import RunMetrics
from glov.runs.integrity import check_run
from glov.runs.report import write_report
from glov.runs.rundir import RunDir
from glov.runs.telemetry import record_final, run_metrics
from glov.search.arms import arms_for
from glov.vlm.scorer import Scorer


def finish_run(
    cfg: GlovConfig,
    run: RunDir,
    scorer: Scorer | None,
    data: DataBundle,
    pipeline: str,
    recorders: list[RunMetrics] | None = None,
    counts: Mapping[str, int] | None = None,
) -> dict:
    """Evaluate every arm on the test split, write the report, push the final metrics.

    The `final` stage is timed on every arm's recorder (`recorders`, in
    arms_for order, else new ones). The final push marks each arm's group
    finished; groups finished longer than metrics.finished_ttl_seconds ago
    (this run's too, when that is 0) are then deleted. `counts`: the merged test
    counts of a sharded final evaluation (write_report); then `scorer` may be None.
    """
    recorders = recorders or run_metrics(cfg, run, data.name, pipeline)
    try:
        with ExitStack() as stages:
            for metrics in recorders:
                stages.enter_context(metrics.stage("final"))
            report = write_report(cfg, run, scorer, data, counts)
    except Exception:
        for metrics in recorders:
            metrics.push()  # the failure, for GlovStageFailing
        raise
    for arm, metrics in zip(arms_for(cfg), recorders, strict=True):
        record_final(metrics, report, arm.name)
        metrics.push()
    if recorders:
        recorders[0].expire_old_groups()
    return report


def finished_report(cfg: GlovConfig, run: RunDir) -> dict | None:
    """report.json of this run if it covers exactly the finished steps of every arm
    (glov.runs.integrity: no record damaged, every arm at search.steps or beyond)."""
    return check_run(cfg, run).report
