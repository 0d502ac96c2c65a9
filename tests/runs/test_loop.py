"""The in-process loop end to end: tiny random VLM, the real SmolLM2 optimizer.

Asserts what a user relies on: a seeded run is reproducible, an interrupted run
resumes after its last finished step without redoing it (and ends identical to
an uninterrupted run), every arm is reported, random weights are flagged.
"""

from __future__ import annotations

import json

import pytest

from cli.main import main
from glov.config import load_config
from glov.runs.loaded_models import Models
from glov.runs.loop import run_search
from glov.runs.rundir import RunDir
from glov.vlm.clip import ClipScorer
from tests.tiny_run import tiny_run

VOLATILE = {"time", "seconds", "eval_seconds"}


def _cfg(test_cache_dir, steps=2, **extra):
    overrides = tiny_run(
        test_cache_dir,
        "search.compare_with=[glov-noguide, llm-opt]",
        "guidance.alphas=[1.0]",
        *[f"{k}={v}" for k, v in extra.items()],
        steps=steps,
        llm_tokens=20,
    )
    return load_config("smoke", overrides)


@pytest.fixture(scope="module")
def scorer(test_cache_dir):
    return ClipScorer(_cfg(test_cache_dir).vlm, test_cache_dir)


def _stable(records):
    def clean(obj):
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if k not in VOLATILE}
        return obj

    return [clean(r) for r in records]


def _run(tmp_path, name, cfg, scorer, llm, resume=False):
    run, cfg = RunDir.open(str(tmp_path), name, cfg, "resume" if resume else "new")
    report = run_search(cfg, run, Models(cfg, scorer=scorer, llm=llm))
    return run, report


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, scorer, smollm2, test_cache_dir):
    """One uninterrupted 2-step run with every arm, shared by the tests below."""
    return _run(tmp_path_factory.mktemp("runs"), "full", _cfg(test_cache_dir), scorer, smollm2)


def test_seeded_run_is_reproducible_and_reported(
    tmp_path, full_run, scorer, smollm2, test_cache_dir
):
    cfg = _cfg(test_cache_dir)
    a, report = full_run
    b, _ = _run(tmp_path, "b", cfg, scorer, smollm2)
    arms = ["glov-alpha1", "glov-noguide", "llm-opt"]
    for arm in arms:
        records = a.steps(arm)
        assert [r["step"] for r in records] == [0, 1, 2]
        assert records[0]["scored"][0]["template"] == cfg.search.seed_template
        generated = sum(r["generated"] for r in records)
        if arm == "llm-opt":
            # LLM-OPT starts from a pool and re-asks answers without a slot.
            assert len(records[0]["scored"]) > 1
            assert 2 * cfg.search.candidates <= generated
            assert generated <= 2 * cfg.search.candidates * cfg.search.llm_opt_asks
        else:
            assert generated == 2 * cfg.search.candidates
        # Every answer of every step is clean, repaired or rejected (by reason).
        for r in records[1:]:
            assert r["clean"] + r["repaired"] + sum(r["rejected"].values()) == r["generated"]
            assert len(r["truncated"]) == r["generated"] == len(r["answers"])
        figures = report["arms"][arm]
        assert figures["generated"] == generated
        assert [s["sampled"] for s in figures["answers_per_step"]] == [
            r["generated"] for r in records[1:]
        ]
        assert _stable(records) == _stable(b.steps(arm))
    assert set(report["arms"]) == set(arms)
    # Animal-MNIST has no set of CLIP's authors: DS-TEMP is ImageNet's 80, and says so.
    assert report["baselines"]["ds_temp"]["set"] == "imagenet"
    assert "`imagenet` set, 80 templates" in a.store.read_text("report.md")
    assert report["random_vlm_weights"] and "RANDOMLY INITIALISED" in report["note"]
    for key in ("report.json", "report.md", "fitness.png"):
        assert a.store.exists(key)
    assert a.store.read_bytes("fitness.png").startswith(b"\x89PNG")
    assert "RANDOMLY INITIALISED" in a.store.read_text("report.md")
    assert "## LLM answers" in a.store.read_text("report.md")
    # Fitness of every scored template is recomputable from the scorer.
    data = json.loads(a.store.read_text("data.json"))
    assert data["classnames"] == ["bear", "bird", "cat"]


def test_resume_skips_finished_steps_and_matches_an_uninterrupted_run(
    tmp_path, full_run, scorer, smollm2, test_cache_dir
):
    full, _ = full_run
    part, _ = _run(tmp_path, "part", _cfg(test_cache_dir, steps=1), scorer, smollm2)
    before = {arm: part.steps(arm) for arm in ("glov-alpha1", "llm-opt")}
    resumed, _ = _run(tmp_path, "part", _cfg(test_cache_dir, steps=2), scorer, smollm2, True)
    for arm, old in before.items():
        now = resumed.steps(arm)
        assert len(now) == 3
        # Finished steps were not recomputed: their records (timestamps included) are untouched.
        assert now[:2] == old
        assert _stable(now) == _stable(full.steps(arm))


def test_cli_refuses_to_overwrite_and_names_bad_keys(tmp_path, capsys):
    (tmp_path / "runs" / "r").mkdir(parents=True)
    (tmp_path / "runs" / "r" / "config.yaml").write_text("profile: smoke\n")
    rc = main(["run", "--config", "smoke", "--run-dir", str(tmp_path / "runs" / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and "already exists" in err and "--resume" in err
    assert (tmp_path / "runs" / "r" / "config.yaml").read_text() == "profile: smoke\n"
    rc = main(["run", "--config", "smoke", "--set", "search.stepz=3"])
    err = capsys.readouterr().err
    assert rc == 2 and "search.stepz" in err and "search.steps" in err
    assert "Traceback" not in err


def test_cli_reports_bad_dataset_without_traceback(tmp_path, capsys):
    missing = tmp_path / "nope"
    rc = main(
        [
            "run",
            "--set",
            f"data.uri={missing}",
            "--set",
            "run.progress=false",
            "--run-dir",
            str(tmp_path / "runs" / "x"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and str(missing) in err and "fix:" in err


def test_run_management_commands_on_a_finished_run(full_run, tmp_path, capsys):
    run, report = full_run
    root = run.uri.removeprefix("file://").rsplit("/", 1)[0]
    assert main(["list", root]) == 0
    out = capsys.readouterr().out
    assert "full" in out and "finished" in out and "2/2" in out
    assert main(["show", run.uri]) == 0
    out = capsys.readouterr().out
    for arm, figures in report["arms"].items():
        assert arm in out and "step 2/2" in out
        # Each arm's answer quality, the same counts as the report's.
        rejected = sum(figures["rejected"].values())
        assert (
            f"{figures['generated']} answers: {figures['clean']} clean" in out
            and f", {figures['repaired']} repaired" in out
            and f", {rejected} rejected" in out
        )
    assert main(["compare", run.uri, run.uri]) == 0
    assert capsys.readouterr().out.count("glov-alpha1") == 2
    assert main(["export", run.uri, "-o", str(tmp_path / "exp")]) == 0
    templates = json.loads((tmp_path / "exp" / "templates.json").read_text())
    selected = report["arms"][report["selected"]["glov"]]
    assert templates == [t["template"] for t in selected["top_templates"]]
    from safetensors import safe_open

    with safe_open(str(tmp_path / "exp" / "zeroshot_head.safetensors"), "pt") as head:
        assert head.get_tensor("weight").shape[0] == report["dataset"]["classes"] == 3
        assert json.loads(head.metadata()["classnames"]) == ["bear", "bird", "cat"]


def test_show_and_export_refuse_what_is_not_there(tmp_path, capsys):
    assert main(["show", str(tmp_path / "nope")]) == 2
    assert "not a GLOV run" in capsys.readouterr().err
    run, _ = RunDir.open(str(tmp_path), "unfinished", load_config("smoke"))
    assert main(["export", run.uri, "-o", str(tmp_path / "x")]) == 2
    assert "no report yet" in capsys.readouterr().err
    assert main(["list", str(tmp_path)]) == 0
    assert "not started" in capsys.readouterr().out


def test_resumed_arms_with_different_steps_are_reported(
    tmp_path, scorer, smollm2, test_cache_dir, caplog
):
    cfg = _cfg(test_cache_dir, steps=1, **{"search.compare_with": "[]"})
    run, _ = _run(tmp_path, "skew", cfg, scorer, smollm2)
    # One arm got one step further before the run was resumed with fewer steps.
    more = _cfg(test_cache_dir, steps=2, **{"search.compare_with": "[]"})
    _run(tmp_path, "skew", more, scorer, smollm2, resume=True)
    _, report = _run(tmp_path, "skew", cfg, scorer, smollm2, resume=True)
    assert report["arms"]["glov-alpha1"]["steps"] == 2
    assert "more than search.steps=1" in caplog.text
    assert "Steps per arm differ from search.steps: glov-alpha1 2" in run.store.read_text(
        "report.md"
    )


def test_resume_redoes_a_torn_step_and_keeps_the_complete_ones_byte_identical(
    tmp_path, scorer, smollm2, test_cache_dir, caplog
):
    cfg = _cfg(test_cache_dir, steps=1, **{"search.compare_with": "[]"})
    run, _ = _run(tmp_path, "torn", cfg, scorer, smollm2)
    path = run.store.local_path("arms/glov-alpha1/steps.jsonl")
    data = path.read_bytes()
    step0 = data[: data.index(b"\n") + 1]
    path.write_bytes(data[:-30])  # step 1 cut off mid-line, as a crash leaves it
    resumed, report = _run(tmp_path, "torn", cfg, scorer, smollm2, resume=True)
    assert path.read_bytes().startswith(step0)  # step 0, byte for byte
    assert [r["step"] for r in resumed.steps("glov-alpha1")] == [0, 1]
    assert resumed.step_log("glov-alpha1").problem is None
    assert f"{path}:2: a step record cut off mid-line" in caplog.text
    assert "this run redoes step 1" in caplog.text
    assert report["arms"]["glov-alpha1"]["steps"] == 1
