"""(a) LLaVA-OneVision-7B's shapes: plain batched generate against prefix KV reuse."""

from __future__ import annotations

import copy
from dataclasses import asdict
from typing import Any

import torch

from bench.gpu.measure import (
    Recorder,
    allocated_gib,
    peak_gib,
    reset_peak,
    timed,
)
from bench.gpu.scales import Scale
from bench.random_models import param_count, random_weights, vocab_rows

DIVERGENCE_NOTE = (
    "the two paths run the same token sequences through differently shaped kernels (one "
    "long left-padded batch vs a shared prefix cache with padding before each prompt); in "
    "bf16 with random weights the top logits of a 152k vocabulary are often within rounding "
    "of each other, so a greedy argmax can flip and the answer diverges from there. The "
    "CPU float32 bench (bench/results.json) and the tests require identical answers; here "
    "the fraction of identical answers and the mean agreeing prefix are reported instead"
)


def build_onevision(tokenizer: Any, scale: Scale, device: torch.device) -> Any:
    """A LoadedVLM: random LLaVA-OneVision of `scale.vlm`'s shape, as bench.random_vlm builds it."""
    from transformers import GenerationConfig, LlavaOnevisionForConditionalGeneration

    from bench.random_vlm import onevision_parts
    from glov.vlm.generative.loading import LoadedVLM

    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config, processor = onevision_parts(tokenizer, scale.vlm)  # adds the image token
    # The real model's embedding rows (every id, the image token's too, below them).
    config.text_config.vocab_size = vocab_rows(scale.vlm_vocab, tokenizer)
    model = random_weights(LlavaOnevisionForConditionalGeneration, config, 0, device, scale.dtype)
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
    reset_peak(device)
    build_s, vlm = timed(device, build_onevision, tokenizer, scale, device)
    text = vlm.model.config.text_config
    out.update(
        model="random-weight LLaVA-OneVision, SigLIP "
        f"{scale.vlm.vision_layers}x{scale.vlm.vision_hidden} / Qwen2 "
        f"{text.num_hidden_layers}x{text.hidden_size}",
        shape=asdict(scale.vlm),
        vocab_size=text.vocab_size,
        parameters=param_count(vlm.model),
        dtype=str(scale.dtype).removeprefix("torch."),
        attn_implementation=getattr(text, "_attn_implementation", None),
        build_seconds=round(build_s, 2),
        weights_gib=allocated_gib(device),
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
        seconds, _ = timed(device, fn)
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
        reset_peak(device)
        plain_s, plain = timed(device, generate_plain, vlm, [img] * batch, chats, new, batch)
        peak_plain = max(peak_plain, peak_gib(device) or 0.0)
        store = PrefixStore(2**36)  # a fresh store: every image is new (its prefill counted)
        reset_peak(device)
        reuse_s, reused = timed(
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
        peak_reuse = max(peak_reuse, peak_gib(device) or 0.0)
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
    out["max_memory_allocated_gib"] = peak_gib(device)
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
