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
from glov.runs.loop import run_search
from glov.runs.models import Models
from glov.runs.rundir import RunDir
from glov.vlm.clip import ClipScorer

VOLATILE = {"time", "seconds", "eval_seconds"}


def _cfg(test_cache_dir, steps=2, **extra):
    overrides = [
        f"run.cache_dir={test_cache_dir}",
        "run.progress=false",
        "data.max_classes=3",
        "data.test_per_class=2",
        "vlm.model=glov-tiny-vit",
        "llm.max_new_tokens=20",
        f"search.steps={steps}",
        "search.candidates=3",
        "search.compare_with=[glov-noguide, llm-opt]",
        "guidance.alphas=[1.0]",
    ] + [f"{k}={v}" for k, v in extra.items()]
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
        assert sum(r["generated"] for r in records) == 2 * cfg.search.candidates
        assert _stable(records) == _stable(b.steps(arm))
    assert set(report["arms"]) == set(arms)
    assert report["random_vlm_weights"] and "RANDOMLY INITIALISED" in report["note"]
    for key in ("report.json", "report.md", "fitness.png"):
        assert a.store.exists(key)
    assert a.store.read_bytes("fitness.png").startswith(b"\x89PNG")
    assert "RANDOMLY INITIALISED" in a.store.read_text("report.md")
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
