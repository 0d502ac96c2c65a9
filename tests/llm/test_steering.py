"""Steering vectors and steered generation against an independent naive reference."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import (
    GemmaConfig,
    GemmaForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from glov.llm.steering import (
    Steer,
    compute_steering_vector,
    decoder_layers,
    filter_logits,
    resolve_layer,
    steered_generate,
    steering_hook,
)
from glov.llm.steering_vector import _capture_layer

VOCAB = 1000
PAD = 0
LAYER = 2  # of 4: steering in the middle leaves layers above it to get wrong


def _tiny(config_cls, model_cls, **extra) -> nn.Module:
    # initializer_range 0.2 (not 0.02) spreads the logits of a random model so
    # greedy decoding has no near-ties that float noise could flip.
    config = config_cls(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        initializer_range=0.2,
        pad_token_id=PAD,
        **extra,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return model_cls(config).to(torch.float32).eval()


@pytest.fixture(scope="module")
def llama() -> nn.Module:
    return _tiny(LlamaConfig, LlamaForCausalLM)


def _batch(lengths: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded random prompts of the given lengths."""
    gen = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.full((len(lengths), width), PAD, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, width - n :] = torch.randint(3, VOCAB, (n,), generator=gen)
        mask[row, width - n :] = 1
    return ids, mask


def _vector(model: nn.Module, ids, mask, layer: int, ratio: float, seed: int = 2) -> torch.Tensor:
    """A random direction whose norm is `ratio` times the median layer-output norm."""
    with torch.inference_mode(), _capture_layer(model, layer) as captured:
        model(input_ids=ids, attention_mask=mask)
    typical = captured[0][mask.bool()].norm(dim=-1).median()
    v = torch.randn(captured[0].shape[-1], generator=torch.Generator().manual_seed(seed))
    return v / v.norm() * typical * ratio


def naive_reference(model, ids, mask, layer: int, delta: torch.Tensor, steps: int):
    """GLOV's semantics spelled out: recompute everything each step, steer the last position."""
    module = decoder_layers(model)[layer]

    def hook(_module, _args, output):
        hidden = output[0] if isinstance(output, tuple) else output
        hidden = hidden.clone()
        hidden[:, -1] += delta
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

    handle = module.register_forward_hook(hook)
    all_logits = []
    try:
        with torch.inference_mode():
            for _ in range(steps):
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                out = model(input_ids=ids, attention_mask=mask, position_ids=positions)
                logits = out.logits[:, -1].float()
                all_logits.append(logits)
                token = logits.argmax(-1)
                ids = torch.cat([ids, token[:, None]], 1)
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], 1)
    finally:
        handle.remove()
    return ids, all_logits


def _greedy(model, ids, mask, steer: Steer, steps: int, **kw):
    return steered_generate(
        model,
        ids,
        mask,
        steer,
        max_new_tokens=steps,
        do_sample=False,
        eos_token_id=None,
        pad_token_id=PAD,
        return_logits=True,
        **kw,
    )


def _assert_same(out, ref_ids, ref_logits, atol: float = 1e-4) -> None:
    assert torch.equal(out.sequences, ref_ids)
    assert len(out.logits) == len(ref_logits)
    for got, want in zip(out.logits, ref_logits, strict=True):
        torch.testing.assert_close(got, want, atol=atol, rtol=1e-4)


def _no_hooks(model) -> bool:
    return all(len(layer._forward_hooks) == 0 for layer in decoder_layers(model))


# --- exactness --------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.5, 4.0])
@pytest.mark.parametrize(
    ("mode", "strategy"),
    [("exact", "refeed"), ("exact", "two-pass"), ("reference", "refeed")],
)
def test_matches_naive_reference_on_tiny_llama(llama, alpha, mode, strategy):
    ids, mask = _batch([9, 5])
    v = _vector(llama, ids, mask, LAYER, ratio=1.0)
    ref_ids, ref_logits = naive_reference(llama, ids, mask, LAYER, alpha * v, steps=8)
    out = _greedy(llama, ids, mask, Steer(v, LAYER, alpha, mode), 8, exact_strategy=strategy)
    _assert_same(out, ref_ids, ref_logits)
    assert out.new_tokens == 2 * 8
    assert _no_hooks(llama)


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
    v = _vector(model, ids, mask, layer, ratio=0.25)  # GLOV vectors measure ~0.25 here
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
    _assert_same(out, ref_ids, ref_logits, atol=2e-3)
    # The offset must matter at all, or the comparison above proves nothing.
    plain, _ = naive_reference(model, ids, mask, layer, 0 * v, steps=4)
    if alpha == 4.0:
        assert not torch.equal(plain, ref_ids)


@pytest.mark.parametrize("mode", ["exact", "cached"])
def test_alpha_zero_reproduces_generate(llama, mode):
    ids, mask = _batch([7, 11, 4])
    v = _vector(llama, ids, mask, LAYER, ratio=1.0)
    out = _greedy(llama, ids, mask, Steer(v, LAYER, 0.0, mode), 10)
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
    ids, mask = _batch(lengths, seed=5)
    v = _vector(llama, ids, mask, LAYER, ratio=1.0)
    steer = Steer(v, LAYER, 4.0, "exact")
    batched = _greedy(llama, ids, mask, steer, 7)
    width = ids.shape[1]
    for row, n in enumerate(lengths):
        alone = _greedy(
            llama, ids[row : row + 1, width - n :], mask[row : row + 1, width - n :], steer, 7
        )
        assert torch.equal(batched.sequences[row, width:], alone.sequences[0, n:])
        for got, want in zip(batched.logits, alone.logits, strict=True):
            torch.testing.assert_close(got[row], want[0], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("length", [8, 1])
@pytest.mark.parametrize(
    ("mode", "strategy"), [("exact", "refeed"), ("exact", "two-pass"), ("cached", "refeed")]
)
def test_repeated_prompt_shares_prefill_without_changing_results(llama, mode, strategy, length):
    ids, mask = _batch([length])
    v = _vector(llama, ids, mask, LAYER, ratio=1.0)
    steer = Steer(v, LAYER, 2.0, mode)
    single = _greedy(llama, ids, mask, steer, 6, exact_strategy=strategy)
    many = _greedy(llama, ids.repeat(3, 1), mask.repeat(3, 1), steer, 6, exact_strategy=strategy)
    if mode == "exact":
        ref_ids, ref_logits = naive_reference(llama, ids, mask, LAYER, 2.0 * v, steps=6)
        _assert_same(single, ref_ids, ref_logits)
    assert torch.equal(many.sequences, single.sequences.repeat(3, 1))
    for got, want in zip(many.logits, single.logits, strict=True):
        torch.testing.assert_close(got, want.expand_as(got), atol=1e-4, rtol=1e-4)


def test_cached_is_an_approximation(llama):
    ids, mask = _batch([9, 5])
    v = _vector(llama, ids, mask, LAYER, ratio=1.0)
    exact = _greedy(llama, ids, mask, Steer(v, LAYER, 8.0, "exact"), 6)
    cached = _greedy(llama, ids, mask, Steer(v, LAYER, 8.0, "cached"), 6)
    # The first step is identical (only the newest position is steered in
    # both); later steps read steered past states from the cache.
    torch.testing.assert_close(exact.logits[0], cached.logits[0], atol=1e-4, rtol=1e-4)
    assert (
        max((a - b).abs().max().item() for a, b in zip(exact.logits, cached.logits, strict=True))
        > 0.1
    )
    exact0 = _greedy(llama, ids, mask, Steer(v, LAYER, 0.0, "exact"), 6)
    cached0 = _greedy(llama, ids, mask, Steer(v, LAYER, 0.0, "cached"), 6)
    assert torch.equal(exact0.sequences, cached0.sequences)
    for a, b in zip(exact0.logits, cached0.logits, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    ("config_cls", "model_cls", "extra"),
    [
        (Qwen2Config, Qwen2ForCausalLM, {}),
        (GemmaConfig, GemmaForCausalLM, {"head_dim": 16}),
        (MistralConfig, MistralForCausalLM, {"sliding_window": 128}),
        # A window shorter than the sequence: the cache must still mask by it.
        (MistralConfig, MistralForCausalLM, {"sliding_window": 4}),
    ],
    ids=["qwen2", "gemma", "mistral", "mistral-window4"],
)
def test_other_architectures_exact_equals_reference(config_cls, model_cls, extra):
    model = _tiny(config_cls, model_cls, **extra)
    ids, mask = _batch([8, 4])
    v = _vector(model, ids, mask, LAYER, ratio=1.0)
    ref_ids, ref_logits = naive_reference(model, ids, mask, LAYER, 4.0 * v, steps=5)
    _assert_same(_greedy(model, ids, mask, Steer(v, LAYER, 4.0, "exact"), 5), ref_ids, ref_logits)
    _assert_same(
        _greedy(model, ids, mask, Steer(v, LAYER, 4.0, "reference"), 5), ref_ids, ref_logits
    )
    assert _no_hooks(model)


def test_eager_attention_exact_equals_reference():
    model = _tiny(LlamaConfig, LlamaForCausalLM, attn_implementation="eager")
    assert model.config._attn_implementation == "eager"
    ids, mask = _batch([8, 4])
    v = _vector(model, ids, mask, LAYER, ratio=1.0)
    ref_ids, ref_logits = naive_reference(model, ids, mask, LAYER, 4.0 * v, steps=5)
    _assert_same(_greedy(model, ids, mask, Steer(v, LAYER, 4.0, "exact"), 5), ref_ids, ref_logits)


# --- stopping, sampling, hooks, validation ---------------------------------


def test_rows_stop_at_eos_and_pad_after_it(llama):
    ids, mask = _batch([6, 9])
    v = _vector(llama, ids, mask, LAYER, ratio=1.0)
    steer = Steer(v, LAYER, 1.0, "exact")
    free = _greedy(llama, ids, mask, steer, 8).sequences[:, ids.shape[1] :]
    # Row 0 ends at (or before) its 3rd token, row 1 at (or before) its 2nd.
    eos = [int(free[0, 2]), int(free[1, 1])]
    out = steered_generate(
        llama,
        ids,
        mask,
        steer,
        max_new_tokens=8,
        do_sample=False,
        eos_token_id=eos,
        pad_token_id=PAD,
    )
    new = out.sequences[:, ids.shape[1] :]
    ends = [int(torch.isin(row, torch.tensor(eos)).nonzero()[0]) for row in new]
    assert ends[0] <= 2 and ends[1] <= 1
    for row, end in zip(new, ends, strict=True):
        assert (row[end + 1 :] == PAD).all()
    assert torch.equal(new[0, : ends[0] + 1], free[0, : ends[0] + 1])
    assert new.shape[1] == max(ends) + 1  # the loop stopped once every row had ended
    assert out.new_tokens == sum(end + 1 for end in ends)


def test_sampling_with_seed_is_reproducible(llama):
    ids, mask = _batch([6])
    ids, mask = ids.repeat(4, 1), mask.repeat(4, 1)
    v = _vector(llama, ids, mask, LAYER, ratio=1.0)

    def sample(seed):
        return steered_generate(
            llama,
            ids,
            mask,
            Steer(v, LAYER, 1.0, "exact"),
            max_new_tokens=12,
            do_sample=True,
            temperature=1.0,
            top_k=50,
            top_p=0.9,
            seed=seed,
            eos_token_id=None,
            pad_token_id=PAD,
        ).sequences

    state = torch.get_rng_state()
    a, b, c = sample(7), sample(7), sample(8)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert len({tuple(row.tolist()) for row in a}) > 1  # the K samples differ
    assert torch.equal(torch.get_rng_state(), state)


def test_filter_logits_top_k_then_top_p():
    scores = torch.log(torch.tensor([[0.5, 0.2, 0.15, 0.1, 0.05]]))
    kept = lambda s: torch.isfinite(s)[0].tolist()  # noqa: E731
    assert kept(filter_logits(scores, top_k=2)) == [True, True, False, False, False]
    # 0.5 + 0.2 < 0.8, so the third token is needed to reach the mass.
    assert kept(filter_logits(scores, top_p=0.8)) == [True, True, True, False, False]
    assert kept(filter_logits(scores, top_p=0.01)) == [True, False, False, False, False]
    assert kept(filter_logits(scores, top_k=2, top_p=0.99)) == [True, True, False, False, False]


@pytest.mark.parametrize("mode", ["exact", "cached", "reference"])
def test_hook_removed_after_generation_and_after_error(llama, mode):
    ids, mask = _batch([5])
    v = _vector(llama, ids, mask, LAYER, ratio=1.0)
    _greedy(llama, ids, mask, Steer(v, LAYER, 1.0, mode), 3)
    assert _no_hooks(llama)
    bad = ids.clone()
    bad[0, -1] = VOCAB + 5  # the embedding lookup raises inside the forward pass
    with pytest.raises(IndexError):
        _greedy(llama, bad, mask, Steer(v, LAYER, 1.0, mode), 3)
    assert _no_hooks(llama)


def test_steering_hook_handles_tuple_outputs_and_removes_itself():
    class TupleLayer(nn.Module):
        def forward(self, x):
            return (x * 2, "aux")

    class Body(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([TupleLayer(), TupleLayer()])

    model = nn.Module()
    model.model = Body()
    x = torch.zeros(1, 3, 4)
    with steering_hook(model, 1, lambda h: torch.ones_like(h)):
        out = model.model.layers[1](x)
        assert out[1] == "aux" and torch.equal(out[0], torch.ones(1, 3, 4))
    assert len(model.model.layers[1]._forward_hooks) == 0
    with pytest.raises(RuntimeError), steering_hook(model, 0, lambda h: None):
        raise RuntimeError("boom")
    assert len(model.model.layers[0]._forward_hooks) == 0


def test_rejects_right_padding_and_unknown_models(llama):
    ids, mask = _batch([6, 3])
    v = torch.zeros(64)
    with pytest.raises(ValueError, match="LEFT-padded"):
        _greedy(llama, ids.flip(1), mask.flip(1), Steer(v, LAYER, 1.0), 2)
    with pytest.raises(ValueError, match="hidden=64"):
        _greedy(llama, ids, mask, Steer(torch.zeros(65), LAYER, 1.0), 2)
    with pytest.raises(ValueError, match="decoder layers"):
        decoder_layers(nn.Linear(2, 2))


# --- layers and vectors ------------------------------------------------------


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
    class Chars:
        """A character-level tokenizer, enough to feed the tiny model text."""

        pad_token_id = PAD
        eos_token_id = PAD

        def __call__(self, text, add_special_tokens=True):
            return {"input_ids": [1] * add_special_tokens + [3 + ord(c) % 900 for c in text]}

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
