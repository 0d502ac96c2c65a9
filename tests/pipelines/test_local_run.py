"""The pipeline DAG end to end on kfp's local SubprocessRunner, with tiny real models.

One 1-step run (per-step pods: seed, step-01, then final) that fails in step 1
for a real reason (its LLM directory disappears after step 0 finished), then the
re-run that resumes it: the finished step is kept byte for byte and reused, not
recomputed, and the run completes with its report. (One step, not more: every
task is a process that imports torch, and this test is the suite's slowest.)
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from components.tasks.steps import fused_task, read_json
from glov.config import load_config
from glov.errors import GlovError
from glov.runs.rundir import RunDir
from pipelines.local import run_local

ARM = "glov-alpha1"


def _outputs(root: Path, name: str) -> dict[int, dict]:
    """Step -> the JSON artifact `name` (candidates, scores) under a local pipeline root."""
    return {d["step"]: d for d in (read_json(p) for p in root.rglob(name) if p.is_file())}


def _remove_when_recorded(
    steps_file: Path, n: int, path: Path, away: Path, stop: threading.Event
) -> threading.Thread:
    """Move `path` away as soon as `n` step records exist (watching from a thread).

    It watches until `stop` is set, with no deadline of its own: on a loaded
    machine the steps may take many minutes, and a watcher that gave up first
    would let the run succeed and the test fail for the wrong reason.
    """

    def watch() -> None:
        while not stop.is_set():
            if steps_file.exists() and len(steps_file.read_text().splitlines()) >= n:
                path.rename(away)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _step_lines(out: str) -> list[int]:
    """The steps the console reported finished, in order (one line each)."""
    return [int(m) for m in re.findall(rf"^  {ARM} step (\d+): best fitness", out, re.M)]


def _assert_quiet(out: str, pipeline_root: Path) -> None:
    """No kfp noise on the terminal; it is in the per-task logs instead."""
    assert "\x1b[" not in out  # no colour codes off a terminal
    assert "executor_input" not in out and "Streamed logs" not in out
    logs = list(pipeline_root.rglob("task.log"))
    assert logs and all("executor_input" in p.read_text() for p in logs)
    assert len(re.findall(r"^task \S+.*: (done|FAILED)", out, re.M)) == len(logs)


@pytest.mark.timeout(900)
def test_failed_step_keeps_finished_steps_and_rerun_resumes(tmp_path, tiny, private_llm, capfd):
    store = f"file://{tmp_path}/runs"
    cfg = load_config(
        "smoke",
        tiny
        + [
            "search.steps=1",
            "pipeline.steps_per_pod=1",
            f"llm.model={private_llm}",
            f"store.uri={store}",
        ],
    )
    steps_file = tmp_path / "runs" / "r" / "arms" / ARM / "steps.jsonl"
    away = tmp_path / "llm-moved-away"

    # Run 1: step 0 finishes, then step 1's generate finds no LLM and fails.
    stop = threading.Event()
    watcher = _remove_when_recorded(steps_file, 1, private_llm, away, stop)
    with pytest.raises(GlovError, match="failed"):
        run_local(cfg, run_id="r", pipeline_root=tmp_path / "kfp1")
    stop.set()
    watcher.join(timeout=5)
    assert away.is_dir() and not private_llm.exists()
    out = capfd.readouterr().out
    # Quiet: the failed task's error (its log's tail) and one line per finished step.
    assert f"LLM path {str(private_llm)!r} does not exist" in out
    assert _step_lines(out) == [0]
    _assert_quiet(out, tmp_path / "kfp1")
    run = RunDir.existing(store, "r")
    assert [r["step"] for r in run.steps(ARM)] == [0]
    assert not run.has("report.json")
    finished = steps_file.read_text()
    # The finished steps' artifacts are intact: the histories their rank tasks output.
    histories = [read_json(p) for p in (tmp_path / "kfp1").rglob("updated_history")]
    assert sorted(len(h["records"]) for h in histories) == [1]
    assert 1 not in _outputs(tmp_path / "kfp1", "scores")  # step 1 never got scored

    # An existing run is never silently overwritten.
    with pytest.raises(GlovError, match="already exists"):
        run_local(cfg, run_id="r", pipeline_root=tmp_path / "kfp-refused")

    # Run 2: the model is back; --resume reuses step 0 and runs step 1 and the report.
    away.rename(private_llm)
    result = run_local(cfg, run_id="r", resume=True, pipeline_root=tmp_path / "kfp2")
    out = capfd.readouterr().out
    assert _step_lines(out) == [1]  # step 0 was reused, not re-run
    assert len(out.splitlines()) <= 60, out
    _assert_quiet(out, tmp_path / "kfp2")
    assert steps_file.read_text().startswith(finished)  # step 0 untouched, byte for byte
    records = run.steps(ARM)
    assert [r["step"] for r in records] == [0, 1]
    candidates = _outputs(tmp_path / "kfp2", "candidates")
    scores = _outputs(tmp_path / "kfp2", "scores")
    assert {s: c["reused"] for s, c in candidates.items()} == {0: True, 1: False}
    assert {s: c["reused"] for s, c in scores.items()} == {0: True, 1: False}
    assert scores[1]["fitnesses"] == [c["fitness"] for c in records[1]["scored"]]

    # The history: the seed first, then K answers per step, each scored or rejected.
    assert [c["template"] for c in records[0]["scored"]] == [cfg.search.seed_template]
    best = 0.0
    for r in records:
        if r["step"] > 0:
            assert r["generated"] == cfg.search.candidates
            assert len(r["scored"]) + sum(r["rejected"].values()) == r["generated"]
            assert candidates[1]["generation"]["templates"] == [
                c["template"] for c in records[1]["scored"]
            ]
        best = max([best] + [c["fitness"] for c in r["scored"]])
        assert r["best"]["fitness"] == best

    # The report: run directory, Markdown artifact with the plot inline, final metrics.
    report = result.report
    arm = report["arms"][ARM]
    assert arm["steps"] == 1 and len(arm["curve"]) == 2
    assert arm["curve"] == [r["best"]["fitness"] for r in records]
    assert report["random_vlm_weights"] is True
    assert result.report_path == tmp_path / "runs" / "r" / "report.md"
    assert run.has("fitness.png")
    (markdown,) = (tmp_path / "kfp2").rglob("final/report")
    md = markdown.read_text()
    assert "](data:image/png;base64,iVBOR" in md  # a PNG, inline
    assert f"`{arm['best_template']}`" in md and "S-TEMP" in md
    (final_out,) = (tmp_path / "kfp2").rglob("final/executor_output.json")
    metrics = read_json(final_out)["artifacts"]["metrics"]["artifacts"][0]["metadata"]
    # Keys that name no arm, so Compare runs lines them up across runs; rounded.
    assert metrics["s_temp_test_top1"] == round(report["baselines"]["s_temp"]["test"], 4)
    assert metrics["best_test_top1"] == round(arm["test_best"], 4)
    assert metrics["glov_test_top1"] == metrics["best_test_top1"]
    assert metrics["selected_alpha"] == 1.0
    assert not any(ARM in key for key in metrics)

    # Each rank task's candidates table: its step, every scored template best first.
    tables = {}
    for path in (tmp_path / "kfp2").rglob("candidates_table"):
        text = path.read_text()
        tables[int(text.split(": step ")[1].split()[0])] = text
    assert sorted(tables) == [0, 1]
    assert "reused from the run directory" in tables[0]
    assert "reused from the run directory" not in tables[1]
    rows = [line for line in tables[1].splitlines() if line.startswith("| ") and "rank" not in line]
    assert len(rows) == max(1, len(records[1]["scored"]))
    fitnesses = [f"{100 * c['fitness']:.1f}" for c in records[1]["scored"]]
    assert [row.split(" | ")[1] for row in rows if records[1]["scored"]] == sorted(
        fitnesses, key=float, reverse=True
    )
    assert f"{records[1]['generated']} generated" in tables[1]

    # The fused component's code path reuses the same records (no model is loaded).
    (config,) = (tmp_path / "kfp2").rglob("data-prep/config")
    (data,) = (tmp_path / "kfp2").rglob("data-prep/data")
    (empty,) = (tmp_path / "kfp2").rglob("data-prep/history")
    out, table = tmp_path / "fused-history", tmp_path / "fused-table.md"
    arm_item = {"name": ARM, "method": "glov", "alpha": 1.0}
    m = fused_task(str(config), str(data), str(empty), arm_item, 0, 1, str(out), str(table))
    assert m["steps_reused"] == 2 and m["reused"] == 1.0
    assert read_json(out)["records"] == records
    assert table.read_text().count("### ") == 2  # one section per step of the group
