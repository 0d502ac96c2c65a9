"""The bench's two scales: the paper's model shapes (GPU) and tiny ones (CPU tests).

The scales are data in bench/gpu/scales.toml; their model sizes are named
shapes of bench/model_shapes.toml, written once for every bench and test.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.model_shapes import LLMShape, Shape, llm_shape, vlm_shape

SCALES_FILE = Path(__file__).with_name("scales.toml")


@dataclass(frozen=True)
class Scale:
    name: str
    device: str
    dtype: torch.dtype
    vlm: Shape
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


def _scale(name: str, table: dict[str, Any]) -> Scale:
    fields = {
        **table,
        "dtype": getattr(torch, table["dtype"]),
        "vlm": vlm_shape(table["vlm"]),
        "llm": llm_shape(table["llm"]),
    }
    return Scale(name=name, **fields)


SCALES = {
    name: _scale(name, table) for name, table in tomllib.loads(SCALES_FILE.read_text()).items()
}
