"""Exact steering's split strategy (layers <= l once per token) and its packed attention.

The judge is the independent naive loop of steering_helpers: every case below
is left-padded, greedy and sampled, on the architectures GLOV runs.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from glov.llm.steering import Steer, decoder_layers, resolve_layer
from glov.llm.steering.attention import PACKED_SDPA, packed_attention, packed_sdpa
from glov.llm.steering.steppers import _last_query
from glov.llm.steering.vector import layer_hidden
from tests.llm.steering_helpers import (
    LAYER,
    assert_same,
    greedy,
    make_batch,
    naive_reference,
    no_hooks,
    random_vector,
    sampled,
    tiny_model,
)


@pytest.fixture(scope="module", params=["llama", "qwen2", "mistral-window4", "smollm2-shape"])
def architecture(request) -> nn.Module:
    return tiny_model(request.param)


@pytest.mark.parametrize("seed", [None, 3], ids=["greedy", "sampled"])
@pytest.mark.parametrize("layer", [0, LAYER])
def test_split_matches_naive_reference(architecture, layer, seed):
    ids, mask = make_batch([9, 3, 6])  # left-padded
    v = random_vector(architecture, ids, mask, layer, ratio=1.0)
    ref_ids, ref_logits = naive_reference(architecture, ids, mask, layer, 4.0 * v, 7, seed=seed)
    steer = Steer(v, layer, 4.0, "exact")
    if seed is None:
        out = greedy(architecture, ids, mask, steer, 7, exact_strategy="split")
    else:
        out = sampled(architecture, ids, mask, steer, 7, seed, exact_strategy="split")
    assert_same(out, ref_ids, ref_logits)
    assert no_hooks(architecture)
    assert architecture.config._attn_implementation == "sdpa"
    # The offset changed the tokens at all, or the comparison proves little.
    plain_ids, _ = naive_reference(architecture, ids, mask, layer, 0 * v, 7, seed=seed)
    assert not torch.equal(plain_ids, ref_ids)


@pytest.mark.parametrize("seed", [None, 5], ids=["greedy", "sampled"])
def test_split_matches_naive_reference_on_smollm2(smollm2, seed):
    model, tok = smollm2.model, smollm2.tokenizer
    texts = [
        tok.apply_chat_template(
            [{"role": "user", "content": c}], tokenize=False, add_generation_prompt=True
        )
        for c in ("Name a texture.", "Write one prompt template for CLIP about textures, please.")
    ]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    assert not bool(mask.all())  # the shorter prompt is left-padded
    layer = resolve_layer(0.55, smollm2.num_layers)
    v = random_vector(model, ids, mask, layer, ratio=0.25)  # GLOV vectors measure ~0.25 here
    ref_ids, ref_logits = naive_reference(model, ids, mask, layer, 4.0 * v, 5, seed=seed)
    steer = Steer(v, layer, 4.0, "exact")
    kw = {"exact_strategy": "split", "pad": smollm2.pad_token_id}
    if seed is None:
        out = greedy(model, ids, mask, steer, 5, **kw)
    else:
        out = sampled(model, ids, mask, steer, 5, seed, **kw)
    assert_same(out, ref_ids, ref_logits, atol=2e-3)
    assert no_hooks(model)


def test_split_runs_layers_up_to_l_once_per_token(architecture):
    """Each step: one position through layers <= l, two through the layers above."""
    ids, mask = make_batch([6, 4])
    v = random_vector(architecture, ids, mask, 1, ratio=1.0)
    seen: list[tuple[int, int]] = []

    def record(index: int):
        def hook(_module, _args, output):
            seen.append((index, layer_hidden(output).shape[1]))

        return hook

    handles = [
        module.register_forward_hook(record(i))
        for i, module in enumerate(decoder_layers(architecture))
    ]
    try:
        greedy(architecture, ids, mask, Steer(v, 1, 2.0, "exact"), 4, exact_strategy="split")
    finally:
        for handle in handles:
            handle.remove()
    layers = len(decoder_layers(architecture))
    prefill, steps = seen[:layers], seen[layers:]
    assert all(width == ids.shape[1] for _, width in prefill)
    assert len(steps) == 3 * layers  # 4 tokens: the prefill's and three steps'
    # Layer 1's output is widened back to both tokens by the split's hook.
    assert sorted({(i, w) for i, w in steps}) == [(0, 1), (1, 2), (2, 2), (3, 2)]


def test_steering_the_last_layer_is_exact(architecture):
    ids, mask = make_batch([7, 5])
    last = len(decoder_layers(architecture)) - 1
    v = random_vector(architecture, ids, mask, last, ratio=1.0)
    ref_ids, ref_logits = naive_reference(architecture, ids, mask, last, 4.0 * v, 5)
    assert_same(
        greedy(architecture, ids, mask, Steer(v, last, 4.0, "exact"), 5), ref_ids, ref_logits
    )


def test_plain_decoding_through_the_loop_equals_generate(architecture):
    ids, mask = make_batch([7, 11, 4])
    out = greedy(architecture, ids, mask, None, 8)
    with torch.inference_mode():
        want = architecture.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=8, do_sample=False, pad_token_id=0
        )
    assert torch.equal(out.sequences, want)
    assert no_hooks(architecture)


@pytest.mark.parametrize("queries", [1, 2, 5])
@pytest.mark.parametrize("mask_batch", [1, 3])
def test_packed_sdpa_equals_transformers_sdpa(queries, mask_batch):
    gen = torch.Generator().manual_seed(0)
    batch, heads, kv_heads, keys, dim = 3, 6, 2, 9, 8
    query = torch.randn(batch, heads, queries, dim, generator=gen)
    key = torch.randn(batch, kv_heads, keys, dim, generator=gen)
    value = torch.randn(batch, kv_heads, keys, dim, generator=gen)
    # Causal over the last `queries` keys, with some keys padded away per row.
    allowed = torch.arange(keys)[None, :] <= (keys - queries + torch.arange(queries))[:, None]
    mask = allowed.expand(mask_batch, 1, queries, keys).clone()
    for row in range(mask_batch):
        mask[row, ..., :row] = False  # left padding of `row` keys
    module = nn.Module()
    module.num_key_value_groups = heads // kv_heads
    module.is_causal = True
    want, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=0.3)
    got, _ = packed_sdpa(module, query, key, value, mask, scaling=0.3)
    assert got.shape == want.shape == (batch, queries, heads, dim)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_packed_attention_is_switched_back_and_leaves_other_kernels_alone():
    model = tiny_model("llama")
    with packed_attention(model):
        assert model.config._attn_implementation == PACKED_SDPA
    assert model.config._attn_implementation == "sdpa"
    with pytest.raises(RuntimeError, match="boom"), packed_attention(model):
        raise RuntimeError("boom")
    assert model.config._attn_implementation == "sdpa"
    eager = tiny_model("llama", attn_implementation="eager")
    with packed_attention(eager):
        assert eager.config._attn_implementation == "eager"


def test_split_refuses_layer_arguments_it_cannot_narrow():
    assert _last_query("position_ids", torch.arange(4).view(2, 2)).tolist() == [[1], [3]]
    mask = torch.ones(2, 1, 2, 5, dtype=torch.bool)
    assert _last_query("attention_mask", mask).shape == (2, 1, 1, 5)
    padding = torch.ones(2, 5, dtype=torch.bool)  # flash attention's 2D mask: per key
    assert _last_query("attention_mask", padding) is padding
    with pytest.raises(NotImplementedError, match="exact_strategy='refeed'"):
        _last_query("block_mask", object())
