"""A tiny random-weight LLaVA saved to a directory (SmolLM2's tokenizer), and its scorers.

The model loads from its directory like a user's model would; random weights
give gibberish answers, which is all the decoding and caching tests need.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.random_vlm import save_random_llava
from glov.config import VLMConfig
from glov.vlm.generative.scorer import GenerativeScorer


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory, smollm2) -> Path:
    # A copy: the session's SmolLM2 tokenizer must not gain the image token.
    tokenizer = copy.deepcopy(smollm2.tokenizer)
    return save_random_llava(tmp_path_factory.mktemp("tiny-llava") / "model", tokenizer)


@pytest.fixture
def tiny_vlm_config(tiny_vlm_dir: Path) -> VLMConfig:
    return VLMConfig(
        kind="generative", model=str(tiny_vlm_dir), device="cpu", max_new_tokens=12, batch_size=4
    )


@pytest.fixture
def make_generative(tiny_vlm_config: VLMConfig, cache_dir: Path) -> Callable[..., GenerativeScorer]:
    def make(cache: Path | None = None, **overrides: object) -> GenerativeScorer:
        cfg = tiny_vlm_config.model_copy(update=overrides)
        return GenerativeScorer(cfg, cache_dir if cache is None else cache)

    return make
