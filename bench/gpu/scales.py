"""The bench's two scales: the paper's model shapes (GPU) and tiny ones (CPU tests)."""

from __future__ import annotations

from dataclasses import dataclass
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
    vlm: dict[str, Any]  # bench.random_vlm.Shape fields
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
