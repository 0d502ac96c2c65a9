"""Prefix KV reuse against plain batched `generate` over the same (image, prompt) pairs.

A random-weight LLaVA of a real architecture (CLIP vision tower, Qwen2 text
model as in LLaVA-OneVision) scaled down to run on a CPU, built from a config:
speed does not depend on the weights. Each image gets the same 5 prompts;
both paths must give identical answers (token for token), and the speed-up is
whatever this machine measured. The issue's target (>= 3x) is for the paper's
shapes on a GPU, where the image tokens (729 to ~7000 for LLaVA-OV-7B) dominate
the prefill; here the prefill is cheap next to 50 CPU decoding steps.
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw

from glov.config import VLMConfig
from glov.vlm.generative.loading import load_vlm
from glov.vlm.generative.plain import generate_plain
from glov.vlm.generative.prefix_reuse import PrefixStore, generate_with_prefix
from glov.vlm.generative.prompts import chat_prefix, chat_text, instruction
from glov.vlm.generative.random_weights import Shape, image_tokens, save_random_llava

PROMPTS = [
    "Describe the category present in this image briefly and also identify the name of the "
    "category present.",
    "What is the main object in this picture? Answer with its category name.",
    "Look closely at the image and tell me which kind of thing is shown.",
    "Identify the object category in this photo in a few words.",
    "Which category does the pictured object belong to?",
]
# A scaled-down LLaVA-OneVision: Qwen2 text model, one 336-px tile (576 image tokens).
SHAPE = Shape(
    text_type="qwen2",
    hidden=512,
    layers=6,
    heads=8,
    kv_heads=2,
    intermediate=1408,
    vision_hidden=256,
    vision_layers=4,
    vision_heads=4,
    vision_intermediate=1024,
    image_size=336,
    patch_size=14,
    context=4096,
)


def _images(n: int) -> list[Image.Image]:
    out = []
    for i in range(n):
        img = Image.new("RGB", (336, 336), (40 * i % 255, 90, 200 - 30 * i % 200))
        ImageDraw.Draw(img).ellipse([20 * i, 30, 150 + 20 * i, 200], fill=(250, 200, 20))
        out.append(img)
    return out


def run(tokenizer: Any, n_images: int = 4, max_new_tokens: int = 50) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_random_llava(Path(tmp) / "model", copy.deepcopy(tokenizer), SHAPE)
        cfg = VLMConfig(kind="generative", model=str(model_dir), device="cpu", dtype="float32")
        vlm = load_vlm(model_dir, cfg)
    prefix_text = chat_prefix(vlm.processor)
    assert prefix_text is not None
    chats = [chat_text(vlm.processor, instruction(p, cfg.prompt_suffix)) for p in PROMPTS]
    images = _images(n_images)
    batch = len(PROMPTS)
    # Warm-up on one image, both paths (allocator, kernels).
    generate_plain(vlm, [images[0]] * batch, chats, 4, batch)
    generate_with_prefix(vlm, images[0], chats, prefix_text, "warm", PrefixStore(2**31), 4, batch)

    pair_images = [img for img in images for _ in chats]
    t0 = time.perf_counter()
    plain = generate_plain(vlm, pair_images, chats * n_images, max_new_tokens, batch)
    plain_s = time.perf_counter() - t0

    store = PrefixStore(2**31)
    t0 = time.perf_counter()
    reused: list[list[int]] = []
    for i, img in enumerate(images):
        answers = generate_with_prefix(
            vlm, img, chats, prefix_text, f"img{i}", store, max_new_tokens, batch
        )
        assert answers is not None
        reused.extend(answers)
    reuse_s = time.perf_counter() - t0
    identical = reused == plain
    if not identical:
        raise AssertionError("prefix reuse changed an answer: the two paths must agree")
    prompt_tokens = [len(vlm.tokenizer(c)["input_ids"]) for c in chats]
    return {
        "model": "random-weight LLaVA (CLIP ViT 336/14, 4 layers x 256; Qwen2 6 layers x 512)",
        "device": str(vlm.device),
        "torch_threads": torch.get_num_threads(),
        "images": n_images,
        "prompts_per_image": len(PROMPTS),
        "image_tokens": image_tokens(SHAPE),
        "prompt_tokens_mean": round(sum(prompt_tokens) / len(prompt_tokens), 1),
        "max_new_tokens": max_new_tokens,
        "new_tokens_mean": round(sum(len(a) for a in plain) / len(plain), 1),
        "batch_size": batch,
        "identical_answers": identical,
        "plain_generate_seconds": round(plain_s, 2),
        "prefix_reuse_seconds": round(reuse_s, 2),
        "speedup": round(plain_s / reuse_s, 2),
        "target": ">= 3x at identical answers (paper shapes, GPU)",
    }
