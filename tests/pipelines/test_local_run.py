"""The pipeline DAG end to end on kfp's local SubprocessRunner, with tiny real models.

One 2-step run (per-step pods: seed, step-01, step-02, then final) that fails in
step 2 for a real reason (its LLM directory disappears after step 1 finished),
then the re-run that resumes it: finished steps are kept byte for byte and reused,
not recomputed, and the run completes with its report.
"""

from __future__ import annotations

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


def _remove_when_recorded(steps_file: Path, n: int, path: Path, away: Path) -> threading.Thread:
    """Move `path` away as soon as `n` step records exist (watching from a thread)."""

    def watch() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if steps_file.exists() and len(steps_file.read_text().splitlines()) >= n:
                path.rename(away)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(900)
def test_failed_step_keeps_finished_steps_and_rerun_resumes(tmp_path, tiny, private_llm, capfd):
    store = f"file://{tmp_path}/runs"
    cfg = load_config(
        "smoke",
        tiny
        + [
            "search.steps=2",
            "pipeline.steps_per_pod=1",
            f"llm.model={private_llm}",
            f"store.uri={store}",
        ],
    )
    steps_file = tmp_path / "runs" / "r" / "arms" / ARM / "steps.jsonl"
    away = tmp_path / "llm-moved-away"

    # Run 1: steps 0 and 1 finish, then step 2's generate finds no LLM and fails.
    watcher = _remove_when_recorded(steps_file, 2, private_llm, away)
    with pytest.raises(GlovError, match="failed"):
        run_local(cfg, run_id="r", pipeline_root=tmp_path / "kfp1")
    watcher.join(timeout=5)
    assert away.is_dir() and not private_llm.exists()
    assert f"LLM path {str(private_llm)!r} does not exist" in capfd.readouterr().out
    run = RunDir.existing(store, "r")
    assert [r["step"] for r in run.steps(ARM)] == [0, 1]
    assert not run.has("report.json")
    finished = steps_file.read_text()
    # The finished steps' artifacts are intact: the histories their rank tasks output.
    histories = [read_json(p) for p in (tmp_path / "kfp1").rglob("updated_history")]
    assert sorted(len(h["records"]) for h in histories) == [1, 2]
    assert 2 not in _outputs(tmp_path / "kfp1", "scores")  # step 2 never got scored

    # An existing run is never silently overwritten.
    with pytest.raises(GlovError, match="already exists"):
        run_local(cfg, run_id="r", pipeline_root=tmp_path / "kfp-refused")

    # Run 2: the model is back; --resume reuses steps 0-1 and runs step 2 and the report.
    away.rename(private_llm)
    result = run_local(cfg, run_id="r", resume=True, pipeline_root=tmp_path / "kfp2")
    assert steps_file.read_text().startswith(finished)  # steps 0-1 untouched, byte for byte
    records = run.steps(ARM)
    assert [r["step"] for r in records] == [0, 1, 2]
    candidates = _outputs(tmp_path / "kfp2", "candidates")
    scores = _outputs(tmp_path / "kfp2", "scores")
    assert {s: c["reused"] for s, c in candidates.items()} == {0: True, 1: True, 2: False}
    assert {s: c["reused"] for s, c in scores.items()} == {0: True, 1: True, 2: False}
    assert scores[1]["fitnesses"] == [c["fitness"] for c in records[1]["scored"]]

    # The history: the seed first, then K answers per step, each scored or rejected.
    assert [c["template"] for c in records[0]["scored"]] == [cfg.search.seed_template]
    best = 0.0
    for r in records:
        if r["step"] > 0:
            assert r["generated"] == cfg.search.candidates
            assert len(r["scored"]) + sum(r["rejected"].values()) == r["generated"]
            assert (
                candidates[2]["generation"]["templates"]
                == [c["template"] for c in records[2]["scored"]]
                or r["step"] != 2
            )
        best = max([best] + [c["fitness"] for c in r["scored"]])
        assert r["best"]["fitness"] == best

    # The report: run directory, Markdown artifact with the plot inline, final metrics.
    report = result.report
    arm = report["arms"][ARM]
    assert arm["steps"] == 2 and len(arm["curve"]) == 3
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
    assert metrics["s_temp_test"] == report["baselines"]["s_temp"]["test"]
    assert metrics[f"{ARM}_test_best"] == arm["test_best"]

    # The fused component's code path reuses the same records (no model is loaded).
    (config,) = (tmp_path / "kfp2").rglob("data-prep/config")
    (data,) = (tmp_path / "kfp2").rglob("data-prep/data")
    (empty,) = (tmp_path / "kfp2").rglob("data-prep/history")
    out = tmp_path / "fused-history"
    arm_item = {"name": ARM, "method": "glov", "alpha": 1.0}
    m = fused_task(str(config), str(data), str(empty), arm_item, 0, 2, str(out))
    assert m["steps_reused"] == 3 and m["reused"] == 1.0
    assert read_json(out)["records"] == records
