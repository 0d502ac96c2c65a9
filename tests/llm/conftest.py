"""LLM test fixtures: a tiny random Llama.

`smollm2` (the real model) and the one-torch-thread setting live in
tests/conftest.py, shared with the loop and pipeline tests. `tiny_llama` is a
4-layer randomly initialised LlamaForCausalLM that shares SmolLM2's tokenizer
(and vocabulary size), for fast structural tests.
"""

from __future__ import annotations

import copy

import pytest

from bench.random_models import random_decoder, token_ids
from glov.llm.loader import LoadedLLM, prepare_llm


@pytest.fixture(scope="session")
def tiny_llama(smollm2: LoadedLLM) -> LoadedLLM:
    """A 4-layer, hidden-64 Llama with random weights (seed 0) and SmolLM2's tokenizer."""
    tokenizer = copy.deepcopy(smollm2.tokenizer)
    model = random_decoder(
        "llama",
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        **token_ids(tokenizer),
    )
    return prepare_llm(model, tokenizer, "tiny-llama")
