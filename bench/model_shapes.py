"""The sizes of the random-weight models, by name, from bench/model_shapes.toml.

The shapes are data (one table each, read here), so a paper shape is written
once and the tests, the CPU benches and the GPU bench pick it by name.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SHAPES_FILE = Path(__file__).with_name("model_shapes.toml")


@dataclass(frozen=True)
class Shape:
    """Sizes of a random LLaVA-style VLM; the defaults are tiny (tests)."""

    text_type: str = "llama"  # a decoder family of bench.random_models: llama | qwen2
    hidden: int = 32
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    intermediate: int = 64
    vision_hidden: int = 32
    vision_layers: int = 2
    vision_heads: int = 4
    vision_intermediate: int = 64
    image_size: int = 28
    patch_size: int = 7
    context: int = 2048


@dataclass(frozen=True)
class LLMShape:
    """Sizes of a random decoder-only LLM; vocab 0 takes the tokenizer's size."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    context: int


@cache
def _tables() -> dict[str, Any]:
    return tomllib.loads(SHAPES_FILE.read_text())


def _table(kind: str, name: str) -> dict[str, Any]:
    tables = _tables()[kind]
    if name not in tables:
        raise KeyError(f"no {kind} shape {name!r} in {SHAPES_FILE.name}; known: {sorted(tables)}")
    return tables[name]


def vlm_shape(name: str) -> Shape:
    """The VLM shape called `name` (a table of bench/model_shapes.toml's [vlm])."""
    return Shape(**_table("vlm", name))


def llm_shape(name: str) -> LLMShape:
    """The LLM shape called `name` (a table of bench/model_shapes.toml's [llm])."""
    return LLMShape(**_table("llm", name))
