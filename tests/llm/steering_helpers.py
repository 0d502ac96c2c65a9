"""Shared pieces of the steering tests: tiny random models built from configs,
an independent naive reference loop, and comparison helpers."""

from __future__ import annotations

import torch
from torch import nn

from bench.random_models import random_decoder
from glov.llm.steering import (
    Steer,
    decoder_layers,
    filter_logits,
    steered_generate,
)
from glov.llm.steering.vector import _capture_layer

VOCAB = 1000
PAD = 0
LAYER = 2  # of 4: steering in the middle leaves layers above it to get wrong

# Tiny random decoders of the families GLOV runs: name -> (decoder family, extra config).
ARCHITECTURES = {
    "llama": ("llama", {}),
    "qwen2": ("qwen2", {}),
    "gemma": ("gemma", {"head_dim": 16}),
    "mistral": ("mistral", {"sliding_window": 128}),
    # A window shorter than the sequences: the cached keys must still be masked by it.
    "mistral-window4": ("mistral", {"sliding_window": 4}),
    # SmolLM2-135M's config in miniature: 3 query heads per K/V head (the
    # packed attention's group size there), tied embeddings, its rope base.
    "smollm2-shape": (
        "llama",
        {
            "hidden_size": 72,
            "num_attention_heads": 9,
            "num_key_value_heads": 3,
            "tie_word_embeddings": True,
            "rope_parameters": {"rope_type": "default", "rope_theta": 100000.0},
        },
    ),
}


def tiny_model(name: str = "llama", **extra) -> nn.Module:
    """The ARCHITECTURES model `name`, seed 0, float32; `extra` config on top of its own."""
    family, own = ARCHITECTURES[name]
    # initializer_range 0.2 (not 0.02) spreads the logits of a random model so
    # greedy decoding has no near-ties that float noise could flip.
    settings = {
        "vocab_size": VOCAB,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 256,
        "initializer_range": 0.2,
        "pad_token_id": PAD,
    }
    return random_decoder(family, **{**settings, **own, **extra})


def make_batch(lengths: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded random prompts of the given lengths."""
    gen = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.full((len(lengths), width), PAD, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, width - n :] = torch.randint(3, VOCAB, (n,), generator=gen)
        mask[row, width - n :] = 1
    return ids, mask


def random_vector(
    model: nn.Module, ids, mask, layer: int, ratio: float, seed: int = 2
) -> torch.Tensor:
    """A random direction whose norm is `ratio` times the median layer-output norm."""
    with torch.inference_mode(), _capture_layer(model, layer) as captured:
        model(input_ids=ids, attention_mask=mask)
    typical = captured[0][mask.bool()].norm(dim=-1).median()
    v = torch.randn(captured[0].shape[-1], generator=torch.Generator().manual_seed(seed))
    return v / v.norm() * typical * ratio


# The sampling settings of the sampled equality tests (GLOV's: T 1, top-k 50, top-p 0.9).
SAMPLING = {"temperature": 1.0, "top_k": 50, "top_p": 0.9}


def naive_reference(
    model, ids, mask, layer: int, delta: torch.Tensor, steps: int, seed: int | None = None
):
    """GLOV's semantics spelled out: recompute everything each step, steer the last position.

    Greedy, or with a seed, sampled with SAMPLING: filtered as steered_generate
    filters and drawn from a generator seeded the same way, so equal logits
    give equal tokens.
    """
    module = decoder_layers(model)[layer]
    generator = None if seed is None else torch.Generator().manual_seed(seed)

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
                if generator is None:
                    token = logits.argmax(-1)
                else:
                    scores = filter_logits(
                        logits / SAMPLING["temperature"],
                        top_k=SAMPLING["top_k"],
                        top_p=SAMPLING["top_p"],
                    )
                    probs = torch.softmax(scores, dim=-1)
                    token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                ids = torch.cat([ids, token[:, None]], 1)
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], 1)
    finally:
        handle.remove()
    return ids, all_logits


def greedy(model, ids, mask, steer: Steer | None, steps: int, pad: int = PAD, **kw):
    """steered_generate, greedy unless `kw` says otherwise, eos off, logits returned."""
    settings = {"do_sample": False, "eos_token_id": None, "return_logits": True, **kw}
    return steered_generate(
        model, ids, mask, steer, max_new_tokens=steps, pad_token_id=pad, **settings
    )


def sampled(model, ids, mask, steer: Steer | None, steps: int, seed: int, pad: int = PAD, **kw):
    """Like greedy, but sampled with SAMPLING from a generator seeded with `seed`."""
    return greedy(model, ids, mask, steer, steps, pad, do_sample=True, seed=seed, **SAMPLING, **kw)


def assert_same(out, ref_ids, ref_logits, atol: float = 1e-4) -> None:
    assert torch.equal(out.sequences, ref_ids)
    assert len(out.logits) == len(ref_logits)
    for got, want in zip(out.logits, ref_logits, strict=True):
        torch.testing.assert_close(got, want, atol=atol, rtol=1e-4)


def no_hooks(model) -> bool:
    """No forward or pre-forward hook left on any decoder layer (the split stepper adds both)."""
    return all(
        not layer._forward_hooks and not layer._forward_pre_hooks for layer in decoder_layers(model)
    )
