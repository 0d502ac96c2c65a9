"""Steered decoding: eos, seeded sampling, logit filtering, hooks, input checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from glov.llm.steering import (
    Steer,
    decoder_layers,
    filter_logits,
    steered_generate,
    steering_hook,
)
from tests.llm.steering_helpers import (
    LAYER,
    PAD,
    VOCAB,
    greedy,
    make_batch,
    no_hooks,
    random_vector,
    tiny_model,
)


@pytest.fixture(scope="module")
def llama() -> nn.Module:
    return tiny_model("llama")


def test_rows_stop_at_eos_and_pad_after_it(llama):
    ids, mask = make_batch([6, 9])
    v = random_vector(llama, ids, mask, LAYER, ratio=1.0)
    steer = Steer(v, LAYER, 1.0, "exact")
    free = greedy(llama, ids, mask, steer, 8).sequences[:, ids.shape[1] :]
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
    ids, mask = make_batch([6])
    ids, mask = ids.repeat(4, 1), mask.repeat(4, 1)
    v = random_vector(llama, ids, mask, LAYER, ratio=1.0)

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
    ids, mask = make_batch([5])
    v = random_vector(llama, ids, mask, LAYER, ratio=1.0)
    greedy(llama, ids, mask, Steer(v, LAYER, 1.0, mode), 3)
    assert no_hooks(llama)
    bad = ids.clone()
    bad[0, -1] = VOCAB + 5  # the embedding lookup raises inside the forward pass
    with pytest.raises(IndexError):
        greedy(llama, bad, mask, Steer(v, LAYER, 1.0, mode), 3)
    assert no_hooks(llama)


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
    ids, mask = make_batch([6, 3])
    v = torch.zeros(64)
    with pytest.raises(ValueError, match="LEFT-padded"):
        greedy(llama, ids.flip(1), mask.flip(1), Steer(v, LAYER, 1.0), 2)
    with pytest.raises(ValueError, match="hidden=64"):
        greedy(llama, ids, mask, Steer(torch.zeros(65), LAYER, 1.0), 2)
    with pytest.raises(ValueError, match="decoder layers"):
        decoder_layers(nn.Linear(2, 2))


def test_steer_layer_must_be_a_resolved_index_of_the_model(llama):
    ids, mask = make_batch([4])
    v = torch.zeros(64)
    with pytest.raises(TypeError, match="resolve_layer"):
        Steer(v, 0.55, 1.0)
    with pytest.raises(TypeError, match="resolve_layer"):
        Steer(v, True, 1.0)
    for mode in ("exact", "cached", "reference"):
        with pytest.raises(ValueError, match=r"layer index 7 .* 4 decoder layers"):
            greedy(llama, ids, mask, Steer(v, 7, 1.0, mode), 2)
    assert no_hooks(llama)
