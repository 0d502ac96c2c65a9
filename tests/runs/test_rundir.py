import pytest

from glov.config import load_config
from glov.errors import RunDirError
from glov.runs.rundir import RunDir


def _record(step):
    return {"step": step, "scored": [], "best": {"template": "x {}", "fitness": 0.1}}


def test_create_refuses_existing_without_resume_or_force(tmp_path):
    cfg = load_config("smoke")
    run, _ = RunDir.open(str(tmp_path), "r1", cfg)
    run.append_step("a", _record(0))
    with pytest.raises(RunDirError, match="already exists") as exc:
        RunDir.open(str(tmp_path), "r1", cfg)
    assert "--resume" in exc.value.fix
    # Nothing was lost by the refused attempt.
    assert len(RunDir.existing(str(tmp_path), "r1").steps("a")) == 1
    resumed, _ = RunDir.open(str(tmp_path), "r1", cfg, "resume")
    assert len(resumed.steps("a")) == 1
    replaced, _ = RunDir.open(str(tmp_path), "r1", cfg, "replace")
    assert replaced.steps("a") == []


def test_non_run_directory_is_protected(tmp_path):
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "precious.txt").write_text("keep me")
    with pytest.raises(RunDirError, match="not a GLOV run"):
        RunDir.open(str(tmp_path), "r2", load_config("smoke"))
    assert (tmp_path / "r2" / "precious.txt").read_text() == "keep me"


def test_resume_refuses_a_different_config_but_allows_more_steps(tmp_path):
    RunDir.open(str(tmp_path), "r3", load_config("smoke"))
    with pytest.raises(RunDirError, match="llm.temperature"):
        RunDir.open(str(tmp_path), "r3", load_config("smoke", ["llm.temperature=0.5"]), "resume")
    _, cfg = RunDir.open(str(tmp_path), "r3", load_config("smoke", ["search.steps=9"]), "resume")
    assert cfg.search.steps == 9


def test_torn_last_line_is_dropped_and_repaired(tmp_path):
    run, _ = RunDir.open(str(tmp_path), "r4", load_config("smoke"))
    run.append_step("a", _record(0))
    run.append_step("a", _record(1))
    path = run.store.local_path("arms/a/steps.jsonl")
    with path.open("a") as fh:
        fh.write('{"step": 2, "scored": [')  # a crash mid-append
    assert [r["step"] for r in run.steps("a")] == [0, 1]
    run.append_step("a", _record(2))
    assert [r["step"] for r in run.steps("a")] == [0, 1, 2]
    with pytest.raises(RunDirError, match="does not follow"):
        run.append_step("a", _record(5))


def test_resume_of_a_missing_run_says_there_is_nothing_to_resume(tmp_path):
    with pytest.raises(RunDirError, match="no run to resume") as exc:
        RunDir.open(str(tmp_path), "nope", load_config("smoke"), "resume")
    assert "drop --resume" in exc.value.fix
    assert not (tmp_path / "nope").exists()  # nothing was created


def test_reuse_creates_then_reopens(tmp_path):
    run, _ = RunDir.open(str(tmp_path), "r5", load_config("smoke"), "reuse")
    run.append_step("a", _record(0))
    again, _ = RunDir.open(str(tmp_path), "r5", load_config("smoke"), "reuse")
    assert len(again.steps("a")) == 1


def test_a_run_id_that_would_leave_the_store_is_refused(tmp_path):
    with pytest.raises(RunDirError, match="not a valid run directory name"):
        RunDir.open(str(tmp_path), "../escape", load_config("smoke"))
    assert list(tmp_path.iterdir()) == []
