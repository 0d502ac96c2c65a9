"""final's task: test evaluation of every arm against the baselines, and the report."""

from __future__ import annotations

from pathlib import Path

from components.tasks.artifacts import (
    final_metric_values,
    open_run,
    read_data,
    read_json,
    write_json,
)
from components.tasks.steps import PIPELINE_LABEL
from glov.config import GlovConfig
from glov.errors import RunDirError
from glov.runs.finish import finish_run, finished_report
from glov.runs.loaded_models import Models
from glov.runs.report import embed_plot, plot_png, render_markdown


def final_task(
    config_path: str,
    data_path: str,
    histories: list[str],
    markdown_out: str,
    report_out: str,
) -> dict[str, float]:
    """Evaluate, report, push the final metrics (reusing a report that is complete)."""
    cfg, run = open_run(config_path)
    check_histories(cfg, histories)
    report = finished_report(cfg, run)
    if report is None:
        data = read_data(cfg, data_path)
        report = finish_run(cfg, run, Models(cfg, run=run).scorer, data, PIPELINE_LABEL)
    return publish_report(report, markdown_out, report_out)


def check_histories(cfg: GlovConfig, histories: list[str]) -> None:
    """Every arm's history artifact holds all of its steps."""
    for path in histories:
        doc = read_json(path)
        if len(doc["records"]) != cfg.search.steps + 1:
            raise RunDirError(
                f"arm {doc['arm']} finished {len(doc['records'])} of {cfg.search.steps + 1} steps",
                "re-run the pipeline with the same run_id: finished steps are reused",
            )


def publish_report(report: dict, markdown_out: str, report_out: str) -> dict[str, float]:
    """The report as the task's outputs (JSON, Markdown with the plot); its metrics."""
    write_json(report_out, report)
    Path(markdown_out).parent.mkdir(parents=True, exist_ok=True)
    Path(markdown_out).write_text(embed_plot(render_markdown(report), plot_png(report)))
    return final_metric_values(report)
