"""The operator's progress reader names damaged run records, as the command line does.

A GlovRun's status shows the progress of the records before the damage, and its
ProgressAvailable condition turns False with reason RecordDamaged, naming the
file, the line, what it means and what to do.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from controller.metrics import OperatorMetrics
from controller.progress import read_progress
from controller.reconcile import Reconciler
from controller.status import StatusUpdate
from tests.cli.fake_runs import finished_run

ARM = "glov-alpha1"


def _cut_mid_line(run_dir: Path) -> Path:
    path = run_dir / "arms" / ARM / "steps.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])
    return path


def test_progress_names_a_torn_step_and_counts_the_steps_before_it(tmp_path: Path):
    run = finished_run(tmp_path / "runs")
    path = _cut_mid_line(run.store.local_path(""))
    progress = read_progress(f"file://{tmp_path / 'runs'}", "done", 2)
    assert progress.steps[ARM] == 1 and progress.steps["llm-opt"] == 2
    assert progress.step == "1/2"
    (problem,) = [p for p in progress.problems if "steps.jsonl" in p]
    assert problem.startswith(f"{path}:3: a step record cut off mid-line")
    assert "fix: resume the run" in problem


def test_progress_names_a_torn_report(tmp_path: Path):
    run = finished_run(tmp_path / "runs")
    report = run.store.local_path("report.json")
    report.write_text(report.read_text()[:40])
    progress = read_progress(f"file://{tmp_path / 'runs'}", "done", 2)
    assert progress.steps == {"glov-alpha1": 2, "glov-noguide": 2, "llm-opt": 2}
    (problem,) = progress.problems
    assert problem.startswith(f"{report}:") and "invalid JSON" in problem
    assert "glov report" in problem


def test_the_status_condition_says_record_damaged(tmp_path: Path):
    run = finished_run(tmp_path / "runs")
    _cut_mid_line(run.store.local_path(""))
    status = {"storeUri": f"file://{tmp_path / 'runs'}", "runId": "done", "totalSteps": 2}
    upd = StatusUpdate(status, generation=1)
    Reconciler(OperatorMetrics(CollectorRegistry()))._read_progress(
        {"metadata": {"name": "r", "namespace": "ns"}}, upd
    )
    cond = upd.condition_of("ProgressAvailable")
    assert cond["status"] == "False" and cond["reason"] == "RecordDamaged"
    assert "steps.jsonl:3:" in cond["message"] and "--resume" in cond["message"]
    fields, _ = upd.changes()
    assert fields["step"] == "1/2"


def test_intact_records_are_available(tmp_path: Path):
    finished_run(tmp_path / "runs")
    status = {"storeUri": f"file://{tmp_path / 'runs'}", "runId": "done", "totalSteps": 2}
    status["runDirectory"] = f"{status['storeUri']}/done"
    upd = StatusUpdate(status, generation=1)
    Reconciler(OperatorMetrics(CollectorRegistry()))._read_progress(
        {"metadata": {"name": "r", "namespace": "ns"}}, upd
    )
    assert upd.condition_of("ProgressAvailable")["status"] == "True"
    assert read_progress(f"file://{tmp_path / 'runs'}", "done", 2).problems == []
