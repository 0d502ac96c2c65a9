"""Prefix KV reuse against plain batched `generate` over the same (image, prompt) pairs.

Two random-weight VLMs of real architectures, scaled down in width and depth
to run on a CPU but keeping their image-token geometry, built from configs
(speed does not depend on the weights):

- `llava15_like`: LLaVA with a CLIP ViT 336/14 tower (one tile, 576 image
  tokens) and a Qwen2 text model;
- `onevision`: LLaVA-OneVision (the paper's VLM, LLaVA-OneVision-Qwen2-7B) with
  a SigLIP 384/14 tower (729 tokens a crop) and the released anyres_max_9 grids,
  so a 768x768 image takes the real 3699 image tokens (base crop, 2x2 grid,
  newline tokens).

Each image gets the same 5 prompts; both paths must give identical answers
(token for token), and the speed-up is whatever this machine measured: on a
CPU the decoding steps, which cost the same on both paths, weigh more than on
a GPU. The load average is recorded since other jobs may share the machine.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw

from bench.model_shapes import Shape, vlm_shape
from bench.random_vlm import save_random_llava, save_random_llava_onevision
from glov.config import VLMConfig
from glov.vlm.generative.loading import LoadedVLM, load_vlm
from glov.vlm.generative.plain import generate_plain
from glov.vlm.generative.prefix_reuse import PrefixStore, generate_with_prefix
from glov.vlm.generative.prompts import chat_prefix, chat_text, instruction

PROMPTS = [
    "Describe the category present in this image briefly and also identify the name of the "
    "category present.",
    "What is the main object in this picture? Answer with its category name.",
    "Look closely at the image and tell me which kind of thing is shown.",
    "Identify the object category in this photo in a few words.",
    "Which category does the pictured object belong to?",
]
NOTE = (
    "prefix reuse saves 4 of 5 prefills (vision tower + image tokens) per image; the 50 "
    "greedy decoding steps per batch remain on both paths, and on a shared CPU they weigh "
    "most where the prefix is short (576 tokens); the longer the image prefix, the larger "
    "the saving"
)


def _images(sizes: list[tuple[int, int]]) -> list[Image.Image]:
    out = []
    for i, (w, h) in enumerate(sizes):
        img = Image.new("RGB", (w, h), (40 * i % 255, 90, 200 - 30 * i % 200))
        box = [w * (0.05 + 0.05 * i), h * 0.1, w * (0.5 + 0.05 * i), h * 0.6]
        ImageDraw.Draw(img).ellipse(box, fill=(250, 200, 20))
        out.append(img)
    return out


def _load(build: Callable[..., Path], tokenizer: Any, shape: Shape) -> LoadedVLM:
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build(Path(tmp) / "model", copy.deepcopy(tokenizer), shape)
        cfg = VLMConfig(kind="generative", model=str(model_dir), device="cpu", dtype="float32")
        return load_vlm(model_dir, cfg)


def measure(
    vlm: LoadedVLM, sizes: list[tuple[int, int]], warm_size: tuple[int, int], max_new_tokens: int
) -> dict:
    """Both paths over every (image, prompt) pair; raises unless the answers are identical."""
    prefix_text = chat_prefix(vlm.processor)
    assert prefix_text is not None
    chats = [chat_text(vlm.processor, instruction(p, "")) for p in PROMPTS]
    images = _images(sizes)
    batch = len(PROMPTS)
    # Warm-up on a small image, both paths (allocator, kernels).
    (warm,) = _images([warm_size])
    generate_plain(vlm, [warm] * batch, chats, 2, batch)
    generate_with_prefix(vlm, warm, chats, prefix_text, "warm", PrefixStore(2**31), 2, batch)

    load_before = os.getloadavg()
    pair_images = [img for img in images for _ in chats]
    t0 = time.perf_counter()
    plain = generate_plain(vlm, pair_images, chats * len(images), max_new_tokens, batch)
    plain_s = time.perf_counter() - t0

    store = PrefixStore(2**33)
    t0 = time.perf_counter()
    reused: list[list[int]] = []
    for i, img in enumerate(images):
        answers = generate_with_prefix(
            vlm, img, chats, prefix_text, f"img{i}", store, max_new_tokens, batch
        )
        assert answers is not None
        reused.extend(answers)
    reuse_s = time.perf_counter() - t0
    load_after = os.getloadavg()
    if reused != plain:
        raise AssertionError("prefix reuse changed an answer: the two paths must agree")
    image_token = vlm.model.config.image_token_id
    tokens = [store.get(f"img{i}").ids.count(image_token) for i in range(len(images))]
    prompt_tokens = [len(vlm.tokenizer(c)["input_ids"]) for c in chats]
    return {
        "images": len(images),
        "image_sizes_wxh": [list(s) for s in sizes],
        "image_tokens_per_image": tokens,
        "prompts_per_image": len(PROMPTS),
        "prompt_tokens_mean": round(sum(prompt_tokens) / len(prompt_tokens), 1),
        "max_new_tokens": max_new_tokens,
        "new_tokens_mean": round(sum(len(a) for a in plain) / len(plain), 1),
        "batch_size": batch,
        "identical_answers": True,
        "plain_generate_seconds": round(plain_s, 2),
        "prefix_reuse_seconds": round(reuse_s, 2),
        "speedup": round(plain_s / reuse_s, 2),
        "load_average_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
    }


def run(tokenizer: Any, max_new_tokens: int = 50) -> dict:
    llava15 = _load(save_random_llava, tokenizer, vlm_shape("llava15-cpu"))
    result = {
        "device": str(llava15.device),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "target": ">= 3x at identical answers, 5 prompts per image (issue 12; paper shapes)",
        "note": NOTE,
        "llava15_like": {
            "model": "random-weight LLaVA (CLIP ViT 336/14, 4 layers x 256; Qwen2 6 layers x 512)",
            **measure(llava15, [(336, 336)] * 2, (336, 336), max_new_tokens),
        },
    }
    del llava15
    onevision = _load(save_random_llava_onevision, tokenizer, vlm_shape("onevision-cpu"))
    result["onevision"] = {
        "model": "random-weight LLaVA-OneVision (SigLIP 384/14, 729 tokens a crop, "
        "anyres_max_9 grids; vision 4 layers x 384, Qwen2 6 layers x 512)",
        **measure(onevision, [(768, 768), (768, 768)], (384, 384), max_new_tokens),
    }
    return result
