"""Steering vectors: layer choice and checks, H+ - H-, attention-sink guard, pooling."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from glov.llm.steering import (
    check_layer_index,
    compute_steering_vector,
    resolve_layer,
    steering_hook,
)
from glov.llm.steering.vector import _capture_layer
from tests.llm.steering_helpers import (
    LAYER,
    PAD,
    no_hooks,
    tiny_model,
)


class Chars:
    """A character-level tokenizer, enough to feed the tiny model text."""

    pad_token_id = PAD
    eos_token_id = PAD

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": [1] * add_special_tokens + [3 + ord(c) % 900 for c in text]}


@pytest.fixture(scope="module")
def llama() -> nn.Module:
    return tiny_model("llama")


def test_resolve_layer():
    assert resolve_layer(17, 32) == 17
    assert resolve_layer(0.55, 32) == 17  # the paper's layer for Llama-3-8B
    assert resolve_layer(0.55, 30) == 16  # SmolLM2
    assert resolve_layer(0.01, 4) == 0
    for bad in (32, -1, 0.0, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError):
            resolve_layer(bad, 32)
    with pytest.raises(TypeError):
        resolve_layer(True, 32)


def test_check_layer_index():
    assert check_layer_index(0, 4) == 0 and check_layer_index(3, 4) == 3
    for bad in (4, -1):
        with pytest.raises(ValueError, match=rf"index {bad} .* 4 decoder layers"):
            check_layer_index(bad, 4)
    for unresolved in (0.55, 1.0, True):
        with pytest.raises(TypeError, match="resolve_layer"):
            check_layer_index(unresolved, 4)


def test_unresolved_or_out_of_range_layer_is_rejected(llama):
    # The tiny Llama has 4 decoder layers: a depth fraction is a config value
    # that only resolve_layer interprets, and index 4 does not exist.
    def hook_at(layer):
        with steering_hook(llama, layer, lambda h: None):
            pass

    with pytest.raises(TypeError, match="resolve_layer"):
        compute_steering_vector(llama, Chars(), "abc", "abd", 0.55)
    with pytest.raises(TypeError, match="resolve_layer"):
        hook_at(0.55)
    with pytest.raises(ValueError, match=r"layer index 4 .* 4 decoder layers"):
        compute_steering_vector(llama, Chars(), "abc", "abd", 4)
    with pytest.raises(ValueError, match=r"layer index -1 .* 4 decoder layers"):
        hook_at(-1)
    assert no_hooks(llama)
    # The resolved index works where the fraction did not.
    sv = compute_steering_vector(llama, Chars(), "abc", "abd", resolve_layer(0.55, 4))
    assert sv.layer == 2


def test_identical_texts_give_a_zero_vector(smollm2):
    sv = compute_steering_vector(
        smollm2.model, smollm2.tokenizer, "A photo of a {}.", "A photo of a {}.", 16
    )
    assert sv.vector.shape == (smollm2.model.config.hidden_size,)
    assert sv.vector.dtype == torch.float32 and sv.vector.device.type == "cpu"
    assert sv.norm == 0.0 and sv.ratio == 0.0 and sv.layer == 16
    assert sv.residual_norm > 0


def test_attention_sink_is_dropped_and_ratio_reported(smollm2):
    model, tok = smollm2.model, smollm2.tokenizer
    pos, neg = "A photo of a {}.", "An image of a {} texture."
    # SmolLM2 adds no BOS, so position 0 holds different tokens ("A" vs "An")
    # and, at layer 16, a state ~100x the norm of the others.
    assert tok(pos)["input_ids"][0] != tok(neg)["input_ids"][0]
    sv = compute_steering_vector(model, tok, pos, neg, 16)
    raw = compute_steering_vector(model, tok, pos, neg, 16, sink_factor=float("inf"))
    assert sv.dropped_positions == (0,) and raw.dropped_positions == ()
    assert raw.norm > 5 * sv.norm  # the sink dominated the undropped difference
    assert sv.ratio == pytest.approx(sv.norm / sv.residual_norm)
    assert 0.05 < sv.ratio < 1.0

    # Masked pooling equals running each text alone without padding.
    means = []
    for text in (pos, neg):
        ids = torch.tensor([tok(text)["input_ids"]])
        with torch.inference_mode(), _capture_layer(model, 16) as captured:
            model(input_ids=ids)
        means.append(captured[0][0, 1:].mean(0))
    torch.testing.assert_close(sv.vector, means[0] - means[1], atol=1e-3, rtol=1e-4)


def test_padded_pooling_cancels_shared_positions(llama):
    tok = Chars()
    sv = compute_steering_vector(llama, tok, "abcdef", "abcxy", LAYER, pooling="padded")
    ids = torch.tensor([tok("abcdef")["input_ids"], tok("abcxy")["input_ids"] + [PAD]])
    mask = torch.tensor([[1] * 7, [1] * 6 + [0]])
    with torch.inference_mode(), _capture_layer(llama, LAYER) as captured:
        llama(input_ids=ids, attention_mask=mask)
    h = captured[0]
    # Positions 0-3 (BOS, a, b, c) are shared and cancel; the pad state at
    # position 6 of the shorter text is part of its padded-length mean.
    want = (h[0, 4:].sum(0) - h[1, 4:].sum(0)) / 7
    torch.testing.assert_close(sv.vector, want, atol=1e-5, rtol=1e-4)
    assert sv.dropped_positions == ()
