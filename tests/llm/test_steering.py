"""Steered generation equals an independent naive reference loop (exact mode)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from glov.llm.steering import (
    Steer,
    resolve_layer,
    steered_generate,
)
from tests.llm.steering_helpers import (
    LAYER,
    PAD,
    assert_same,
    greedy,
    make_batch,
    naive_reference,
    no_hooks,
    random_vector,
    tiny_model,
)


@pytest.fixture(scope="module")
def llama() -> nn.Module:
    return tiny_model("llama")


@pytest.mark.parametrize("alpha", [0.5, 4.0])
@pytest.mark.parametrize(
    ("mode", "strategy"),
    [("exact", "split"), ("exact", "refeed"), ("reference", "split")],
)
def test_matches_naive_reference_on_tiny_llama(llama, alpha, mode, strategy):
    ids, mask = make_batch([9, 5])
    v = random_vector(llama, ids, mask, LAYER, ratio=1.0)
    ref_ids, ref_logits = naive_reference(llama, ids, mask, LAYER, alpha * v, steps=8)
    out = greedy(llama, ids, mask, Steer(v, LAYER, alpha, mode), 8, exact_strategy=strategy)
    assert_same(out, ref_ids, ref_logits)
    assert out.new_tokens == 2 * 8
    assert no_hooks(llama)


@pytest.mark.parametrize("alpha", [0.5, 4.0])
def test_exact_matches_naive_reference_on_smollm2(smollm2, alpha):
    model, tok = smollm2.model, smollm2.tokenizer
    text = tok.apply_chat_template(
        [{"role": "user", "content": "Write a prompt template for CLIP."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    layer = resolve_layer(0.55, smollm2.num_layers)
    v = random_vector(model, ids, mask, layer, ratio=0.25)  # GLOV vectors measure ~0.25 here
    ref_ids, ref_logits = naive_reference(model, ids, mask, layer, alpha * v, steps=4)
    out = steered_generate(
        model,
        ids,
        mask,
        Steer(v, layer, alpha, "exact"),
        max_new_tokens=4,
        do_sample=False,
        eos_token_id=None,
        pad_token_id=smollm2.pad_token_id,
        return_logits=True,
    )
    assert_same(out, ref_ids, ref_logits, atol=2e-3)
    # The offset must matter at all, or the comparison above proves nothing.
    plain, _ = naive_reference(model, ids, mask, layer, 0 * v, steps=4)
    if alpha == 4.0:
        assert not torch.equal(plain, ref_ids)


@pytest.mark.parametrize("mode", ["exact", "cached"])
def test_alpha_zero_reproduces_generate(llama, mode):
    ids, mask = make_batch([7, 11, 4])
    v = random_vector(llama, ids, mask, LAYER, ratio=1.0)
    out = greedy(llama, ids, mask, Steer(v, LAYER, 0.0, mode), 10)
    with torch.inference_mode():
        want = llama.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=10, do_sample=False, pad_token_id=PAD
        )
    assert torch.equal(out.sequences, want)


def test_alpha_zero_reproduces_generate_on_smollm2(smollm2):
    tok = smollm2.tokenizer
    texts = [
        tok.apply_chat_template(
            [{"role": "user", "content": c}], tokenize=False, add_generation_prompt=True
        )
        for c in ("Name a flower.", "Write one short prompt template for CLIP, please.")
    ]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    v = torch.randn(smollm2.model.config.hidden_size)
    out = steered_generate(
        smollm2.model,
        enc["input_ids"],
        enc["attention_mask"],
        Steer(v, 16, 0.0, "exact"),
        max_new_tokens=6,
        do_sample=False,
        eos_token_id=smollm2.eos_token_ids,
        pad_token_id=smollm2.pad_token_id,
    )
    with torch.inference_mode():
        want = smollm2.model.generate(**enc, max_new_tokens=6, do_sample=False)
    assert torch.equal(out.sequences, want)


def test_batched_rows_equal_each_prompt_alone(llama):
    lengths = [3, 10, 6]
    ids, mask = make_batch(lengths, seed=5)
    v = random_vector(llama, ids, mask, LAYER, ratio=1.0)
    steer = Steer(v, LAYER, 4.0, "exact")
    batched = greedy(llama, ids, mask, steer, 7)
    width = ids.shape[1]
    for row, n in enumerate(lengths):
        alone = greedy(
            llama, ids[row : row + 1, width - n :], mask[row : row + 1, width - n :], steer, 7
        )
        assert torch.equal(batched.sequences[row, width:], alone.sequences[0, n:])
        for got, want in zip(batched.logits, alone.logits, strict=True):
            torch.testing.assert_close(got[row], want[0], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("length", [8, 1])
@pytest.mark.parametrize(
    ("mode", "strategy"), [("exact", "split"), ("exact", "refeed"), ("cached", "split")]
)
def test_repeated_prompt_shares_prefill_without_changing_results(llama, mode, strategy, length):
    ids, mask = make_batch([length])
    v = random_vector(llama, ids, mask, LAYER, ratio=1.0)
    steer = Steer(v, LAYER, 2.0, mode)
    single = greedy(llama, ids, mask, steer, 6, exact_strategy=strategy)
    many = greedy(llama, ids.repeat(3, 1), mask.repeat(3, 1), steer, 6, exact_strategy=strategy)
    if mode == "exact":
        ref_ids, ref_logits = naive_reference(llama, ids, mask, LAYER, 2.0 * v, steps=6)
        assert_same(single, ref_ids, ref_logits)
    assert torch.equal(many.sequences, single.sequences.repeat(3, 1))
    for got, want in zip(many.logits, single.logits, strict=True):
        torch.testing.assert_close(got, want.expand_as(got), atol=1e-4, rtol=1e-4)


def test_cached_is_an_approximation(llama):
    ids, mask = make_batch([9, 5])
    v = random_vector(llama, ids, mask, LAYER, ratio=1.0)
    exact = greedy(llama, ids, mask, Steer(v, LAYER, 8.0, "exact"), 6)
    cached = greedy(llama, ids, mask, Steer(v, LAYER, 8.0, "cached"), 6)
    # The first step is identical (only the newest position is steered in
    # both); later steps read steered past states from the cache.
    torch.testing.assert_close(exact.logits[0], cached.logits[0], atol=1e-4, rtol=1e-4)
    assert (
        max((a - b).abs().max().item() for a, b in zip(exact.logits, cached.logits, strict=True))
        > 0.1
    )
    exact0 = greedy(llama, ids, mask, Steer(v, LAYER, 0.0, "exact"), 6)
    cached0 = greedy(llama, ids, mask, Steer(v, LAYER, 0.0, "cached"), 6)
    assert torch.equal(exact0.sequences, cached0.sequences)
    for a, b in zip(exact0.logits, cached0.logits, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["qwen2", "gemma", "mistral", "mistral-window4", "smollm2-shape"])
def test_other_architectures_exact_equals_reference(name):
    model = tiny_model(name)
    ids, mask = make_batch([8, 4])
    v = random_vector(model, ids, mask, LAYER, ratio=1.0)
    ref_ids, ref_logits = naive_reference(model, ids, mask, LAYER, 4.0 * v, steps=5)
    for strategy in ("split", "refeed"):
        steer = Steer(v, LAYER, 4.0, "exact")
        assert_same(
            greedy(model, ids, mask, steer, 5, exact_strategy=strategy), ref_ids, ref_logits
        )
    assert_same(greedy(model, ids, mask, Steer(v, LAYER, 4.0, "reference"), 5), ref_ids, ref_logits)
    assert no_hooks(model)


def test_eager_attention_exact_equals_reference():
    model = tiny_model("llama", attn_implementation="eager")
    assert model.config._attn_implementation == "eager"
    ids, mask = make_batch([8, 4])
    v = random_vector(model, ids, mask, LAYER, ratio=1.0)
    ref_ids, ref_logits = naive_reference(model, ids, mask, LAYER, 4.0 * v, steps=5)
    assert_same(greedy(model, ids, mask, Steer(v, LAYER, 4.0, "exact"), 5), ref_ids, ref_logits)
