"""The random-weight builders that tests and benches share (bench/random_models.py) and the
named shapes they are sized by (bench/model_shapes.toml)."""

from __future__ import annotations

import pytest
import torch

from bench.gpu.scales import SCALES
from bench.model_shapes import Shape, llm_shape, vlm_shape
from bench.random_models import DECODERS, random_decoder

SMALL = {
    "vocab_size": 64,
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
}


def _weights(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("family", sorted(DECODERS))
def test_a_seed_gives_the_same_weights_and_leaves_the_callers_rng_alone(family):
    torch.manual_seed(7)
    expected_next = torch.rand(3)
    torch.manual_seed(7)
    a = random_decoder(family, seed=3, **SMALL)
    assert torch.equal(torch.rand(3), expected_next)
    b = random_decoder(family, seed=3, **SMALL)
    c = random_decoder(family, seed=4, **SMALL)
    assert type(a).__name__.lower().startswith(family)
    assert not a.training and next(a.parameters()).dtype == torch.float32
    assert all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b), strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(c), strict=True))


def test_dtype_and_config_reach_the_model():
    model = random_decoder("llama", dtype=torch.bfloat16, **SMALL, tie_word_embeddings=True)
    assert next(model.parameters()).dtype == torch.bfloat16
    assert model.config.num_hidden_layers == 2 and model.config.tie_word_embeddings


def test_unknown_names_say_what_is_known():
    with pytest.raises(KeyError, match="known: .*llama"):
        random_decoder("gpt9", **SMALL)
    with pytest.raises(KeyError, match="known: .*onevision-cpu"):
        vlm_shape("onevision")
    with pytest.raises(KeyError, match="known: .*llama3-8b"):
        llm_shape("llama3")


def test_named_shapes_are_the_paper_models_and_tiny_is_the_default():
    assert vlm_shape("tiny") == Shape()
    paper = vlm_shape("paper")  # LLaVA-OneVision-Qwen2-7B
    assert (paper.text_type, paper.hidden, paper.layers, paper.vision_layers) == (
        "qwen2",
        3584,
        28,
        27,
    )
    assert (paper.image_size // paper.patch_size) ** 2 == 729  # tokens a crop
    llama = llm_shape("llama3-8b")
    assert (llama.hidden, llama.layers, llama.kv_heads, llama.vocab) == (4096, 32, 8, 128256)
    assert SCALES["paper"].vlm == paper and SCALES["paper"].llm == llama
    assert SCALES["paper"].dtype == torch.bfloat16 and SCALES["tiny"].device == "cpu"
