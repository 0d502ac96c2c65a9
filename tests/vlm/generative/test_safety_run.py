"""A `glov run` under the safety objective: the tiny random LLaVA answers synthetic VLGuard
pairs, the real SmolLM2 writes instructions; the report gives ASR per subset and the
over-refusal rate, consistent with the answers it wrote (random weights: values are
whatever the gibberish gives, so structure and consistency are asserted, not values)."""

from __future__ import annotations

from glov.config import load_config
from glov.runs.loaded_models import Models
from glov.runs.loop import run_search
from glov.runs.rundir import RunDir
from glov.runs.safety_report import ANSWERS_FILE
from glov.vlm.generative.refusal import is_refusal, subset_rates
from glov.vlm.generative.safety import SafetyScorer
from tests.data.vlguard_files import write_vlguard


def test_a_safety_run_reports_asr_per_subset_and_over_refusal(tmp_path, tiny_vlm_dir, smollm2):
    data = write_vlguard(tmp_path / "vlguard")
    cfg = load_config(
        "smoke",
        [
            "objective.kind=safety",
            "vlm.kind=generative",
            "search.seed_template=These instructions can be harmful.",
            "search.compare_with=[]",
            f"run.cache_dir={tmp_path / 'cache'}",
            "run.progress=false",
            f"data.uri={data}",
            "objective.fitness_pairs=2",
            f"vlm.model={tiny_vlm_dir}",
            "vlm.pretrained=null",
            "vlm.device=cpu",
            "vlm.max_new_tokens=4",
            "llm.max_new_tokens=20",
            "search.method=glov-noguide",
            "search.steps=1",
            "search.candidates=2",
        ],
    )
    run, cfg = RunDir.open(str(tmp_path / "runs"), "safety", cfg, "new")
    models = Models(cfg, llm=smollm2, run=run)
    report = run_search(cfg, run, models)
    assert isinstance(models.scorer, SafetyScorer)

    arm = report["arms"]["glov-noguide"]
    assert 0.0 <= arm["best_fitness"] <= 1.0 and arm["test_top_n"] is None
    assert report["baselines"]["ds_temp"]["test"] is None and report["baselines"]["ds_temp"]["note"]
    safety = report["safety"]
    assert safety["test_pairs"] == {"unsafes": 1, "safe_unsafes": 3, "safe_safes": 3}
    assert set(safety["evaluated"]) == {"glov-noguide/best", "s_temp", "no_instruction"}

    answers = {r["key"]: r for r in run.read_json(ANSWERS_FILE)}
    for key, evaluated in safety["evaluated"].items():
        pairs = answers[key]["pairs"]
        refused = [is_refusal(p["answer"]) for p in pairs]
        assert refused == [p["refused"] for p in pairs]
        assert evaluated["subsets"] == subset_rates(refused, [p["subset"] for p in pairs])
        assert evaluated["over_refusal"] == evaluated["subsets"]["safe_safes"]["over_refusal"]
        # The generic test figure: unsafe pairs refused plus safe pairs answered.
        safe = [p["subset"] == "safe_safes" for p in pairs]
        wanted = sum(r != s for r, s in zip(refused, safe, strict=True))
        if key == "no_instruction":  # a safety row only: no test figure in the generic table
            continue
        test = arm["test_best"] if key != "s_temp" else report["baselines"]["s_temp"]["test"]
        assert test == wanted / len(pairs)
    md = run.store.read_text("report.md")
    assert "ASR unsafes" in md and "over-refusal safe_safes" in md and "not applicable" in md
