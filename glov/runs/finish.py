"""Finishing a run: the test-split evaluation, the report, the final metrics.

Shared by the loop and the pipeline's final task. A report that already covers
every arm's finished steps is reused (a retried or re-run final task).
"""

from __future__ import annotations

from glov.config import GlovConfig
from glov.data import DataBundle
from glov.runs.report import write_report
from glov.runs.rundir import RunDir
from glov.runs.telemetry import arm_metrics, record_final
from glov.search.arms import arms_for
from glov.vlm.scorer import Scorer

REPORT_KEY = "report.json"


def finish_run(
    cfg: GlovConfig, run: RunDir, scorer: Scorer, data: DataBundle, pipeline: str
) -> dict:
    """Evaluate every arm on the test split, write the report, push the final metrics."""
    report = write_report(cfg, run, scorer, data)
    for arm in arms_for(cfg):
        metrics = arm_metrics(cfg, run.run_id, arm, data.name, pipeline)
        record_final(metrics, report, arm.name)
        metrics.push("final")
    return report


def finished_report(cfg: GlovConfig, run: RunDir) -> dict | None:
    """report.json of this run if it covers exactly the finished steps of every arm."""
    if not run.has(REPORT_KEY):
        return None
    report = run.read_json(REPORT_KEY)
    arms = report.get("arms", {})
    for arm in arms_for(cfg):
        if arm.name not in arms or arms[arm.name].get("steps") != cfg.search.steps:
            return None
    return report
