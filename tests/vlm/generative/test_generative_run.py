"""A GLOV run with the generative scorer: completes, reports fitness and test accuracy, resumes.

Models builds the scorer from the config (vlm.kind=generative, the tiny LLaVA
directory), the optimizer is the real SmolLM2. The resumed run starts a new
scorer on the same cache directory: answers scored before come from disk.
"""

from __future__ import annotations

from glov.config import load_config
from glov.runs.loaded_models import Models
from glov.runs.loop import run_search
from glov.runs.rundir import RunDir
from glov.vlm.generative.scorer import GenerativeScorer
from tests.tiny_run import tiny_run


def _cfg(cache, model_dir, steps):
    return load_config(
        "smoke",
        tiny_run(
            cache,
            "data.shots=1",
            "vlm.kind=generative",
            f"vlm.model={model_dir}",
            "vlm.max_new_tokens=6",
            "search.method=glov-noguide",
            "search.compare_with=[]",
            "eval.ds_templates=['a photo of a {}.', 'a drawing of a {}.']",
            steps=steps,
            candidates=2,
            llm_tokens=20,
            test_per_class=1,
        ),
    )


def _run(root, cfg, smollm2, mode):
    run, cfg = RunDir.open(str(root), "gen", cfg, mode)
    models = Models(cfg, llm=smollm2, run=run)
    report = run_search(cfg, run, models)
    return run, report, models.scorer


def test_a_generative_run_reports_fitness_and_test_accuracy_and_resumes(
    tmp_path, tiny_vlm_dir, smollm2, test_cache_dir
):
    # The prepared dataset is shared with the other tests; answers start cold.
    cache = tmp_path / "cache"
    cache.mkdir()
    (test_cache_dir / "datasets").mkdir(exist_ok=True)
    (cache / "datasets").symlink_to((test_cache_dir / "datasets").resolve())
    root = tmp_path / "runs"
    run, report, scorer = _run(root, _cfg(cache, tiny_vlm_dir, 1), smollm2, "new")
    assert isinstance(scorer, GenerativeScorer) and scorer.pairs_generated > 0
    arm = report["arms"]["glov-noguide"]
    assert [r["step"] for r in run.steps("glov-noguide")] == [0, 1]
    assert 0.0 <= arm["best_fitness"] <= 1.0 and 0.0 <= arm["test_best"] <= 1.0
    assert 0.0 <= arm["test_top_n"] <= 1.0
    assert "test (best)" in run.store.read_text("report.md")
    before = run.steps("glov-noguide")

    resumed, _, scorer2 = _run(root, _cfg(cache, tiny_vlm_dir, 2), smollm2, "resume")
    records = resumed.steps("glov-noguide")
    assert [r["step"] for r in records] == [0, 1, 2] and records[:2] == before
    # Answers of the first run come from disk; only step 2's (at most 2) new templates
    # are answered, on the 3 fitness images and, if among the top-n, the 3 test images.
    assert scorer2.cache_hits > 0 and scorer2.cache_misses <= 2 * 3 + 2 * 3
