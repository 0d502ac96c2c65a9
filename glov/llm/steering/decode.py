"""Steered generation: GLOV's last-position offset, exact at KV-cache speed.

Reference semantics (GLOV's code): at every decoding step the whole sequence is
recomputed without a KV cache and ``alpha * v`` is added to the output of
decoder layer ``l`` at the LAST position only. Earlier positions are therefore
always seen unsteered, and only the newest position's logits feel the offset.

Modes:

- "reference": exactly that, naively. Step t costs a forward over t tokens, so
  a generation is O(T^2). Baseline for tests and benchmarks.
- "exact": the same outputs with a KV cache. Layers <= l never see the offset,
  so their K/V are those of the unsteered sequence; layers > l must cache the
  UNSTEERED K/V of past positions while the newest logits come from the
  steered state. Default strategy "refeed": the prefill runs the prompt with
  its last position steered, and ``DynamicCache.crop(-1)`` drops that
  position's (steered) K/V. Every decoding step then feeds TWO tokens in one
  ordinary causal forward pass: the previous token again, now unsteered
  because it is no longer last, and the new token, steered because it is.
  The new token attends to the unsteered past and the unsteered previous
  token, exactly as in the reference; the pass caches the previous token's
  unsteered K/V, and ``crop(-1)`` drops the new token's steered K/V again.
  The K/V of the previous token at layers <= l is computed twice (the first
  copy was cropped), the price of using the stock forward unchanged: no
  custom attention mask, so it works with any attention kernel, sliding
  windows included.
  Alternatives measured on SmolLM2-135M, float32, one CPU thread, 467-token
  prompt (bench/bench_steering.py and a per-step timing): with 10 rows a
  "refeed" step costs ~1.8x a cached step (0.3 s vs 0.17 s), the same as (a)
  feeding the newest token twice at one position with a custom 4D mask that
  hides the copies from each other (same 2-position pass, but it needs
  eager/SDPA masks) and as (b) "two-pass": a steered 1-token pass for the
  logits, crop, then an unsteered 1-token pass through the decoder body for
  the K/V. With 10 rows the CPU step is compute-bound, so all three cost the
  same; with 1 row (memory-bound, as on a GPU) "two-pass" streams the weights
  twice and is ~25% slower than "refeed" (0.13-0.16 s vs 0.10-0.13 s; cached
  0.06 s). So "refeed" is the default and "two-pass" stays selectable.
  Running only the layers above l twice would save the recomputed lower
  layers but needs a copy of each model's forward (masks, rotary embeddings,
  per-model quirks): not done.
- "cached": the cheap approximation. The hook steers the last position of each
  pass with a normal KV cache, so steered states of past positions enter the
  cache. Not GLOV's semantics, but one pass per token.

When all rows of the batch are the same prompt (GLOV samples K answers from
one meta-prompt), "exact" and "cached" prefill it once and repeat the cache.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from glov.llm.steering.steppers import (
    CachedStepper,
    RefeedStepper,
    ReferenceStepper,
    Stepper,
    Switch,
    TwoPassStepper,
)
from glov.llm.steering.vector import (
    check_layer_index,
    decoder_layers,
    require_layer_index,
    steering_hook,
)

Mode = Literal["exact", "cached", "reference"]
ExactStrategy = Literal["refeed", "two-pass"]


@dataclass(frozen=True)
class Steer:
    """Add ``alpha * vector`` to the output of decoder layer ``layer`` at the last position.

    ``layer`` is a resolved index: a config value (an index or a depth
    fraction) goes through ``resolve_layer`` first, and a float here is a
    TypeError. Whether the index exists is checked against the model by
    ``steered_generate``.
    """

    vector: Tensor  # [hidden]
    layer: int
    alpha: float
    mode: Mode = "exact"

    def __post_init__(self) -> None:
        require_layer_index(self.layer)


@dataclass(frozen=True)
class SteeredOutput:
    # [B, prompt_len + new]: the left-padded prompt, then the generated tokens,
    # pad_token_id after a row's eos.
    sequences: Tensor
    # One [B, vocab] float32 tensor of raw (pre-sampling) logits per step.
    logits: list[Tensor] | None
    # Tokens generated while rows were unfinished (each row's eos included),
    # summed over the batch.
    new_tokens: int


def steered_generate(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor,
    steer: Steer,
    *,
    max_new_tokens: int,
    do_sample: bool,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
    eos_token_id: int | list[int] | None,
    pad_token_id: int,
    return_logits: bool = False,
    exact_strategy: ExactStrategy = "refeed",
) -> SteeredOutput:
    """Generate with GLOV's steering; see the module docstring for the modes.

    ``input_ids``/``attention_mask`` are [B, T], LEFT-padded (the last column
    must be a real token of every row). Sampling applies temperature, then
    top-k, then top-p, then draws with a generator seeded from ``seed``; greedy
    when ``do_sample`` is False. Each row stops at eos; the loop stops when all
    rows have.
    """
    if input_ids.ndim != 2 or input_ids.shape != attention_mask.shape:
        raise ValueError("input_ids and attention_mask must both be [batch, length]")
    if input_ids.shape[1] == 0:
        raise ValueError("the prompt must hold at least one token")
    if max_new_tokens < 0:
        raise ValueError("max_new_tokens must be >= 0")
    if not bool((attention_mask[:, -1] == 1).all()) or bool(
        (attention_mask[:, 1:] < attention_mask[:, :-1]).any()
    ):
        raise ValueError("the batch must be LEFT-padded: steering acts on the last position")
    if do_sample and temperature <= 0:
        raise ValueError("temperature must be > 0 when sampling")
    if not 0.0 < top_p <= 1.0:
        raise ValueError("top_p must lie in (0, 1]")

    layer = check_layer_index(steer.layer, len(decoder_layers(model)))
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    config = getattr(model, "config", None)
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    hidden_size = getattr(text_config, "hidden_size", None)
    if steer.vector.ndim != 1 or (hidden_size is not None and steer.vector.shape[0] != hidden_size):
        raise ValueError(
            f"the steering vector must be 1-D [hidden={hidden_size}], "
            f"got shape {tuple(steer.vector.shape)}"
        )
    delta = (float(steer.alpha) * steer.vector.float()).to(device=device, dtype=dtype)
    input_ids = input_ids.to(device)
    attention_mask = attention_mask.to(device=device, dtype=torch.long)

    # The hook reads the offset through `active`, so the two-pass strategy can
    # run an unsteered pass without re-registering it.
    active = Switch()
    stepper: Stepper
    if steer.mode == "reference":
        stepper = ReferenceStepper(model)
    elif steer.mode == "cached":
        stepper = CachedStepper(model)
    elif steer.mode == "exact":
        if exact_strategy == "refeed":
            stepper = RefeedStepper(model)
        elif exact_strategy == "two-pass":
            stepper = TwoPassStepper(model, active)
        else:
            raise ValueError(f"unknown exact strategy {exact_strategy!r}")
    else:
        raise ValueError(f"unknown steering mode {steer.mode!r}")

    eos = _eos_tensor(eos_token_id, device)
    generator = _generator(seed, device) if do_sample else None
    batch = input_ids.shape[0]
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    generated: list[Tensor] = []
    step_logits: list[Tensor] = []
    new_tokens = 0

    def offset(hidden: Tensor) -> Tensor | None:
        if not active.on:
            return None
        out = hidden.new_zeros((1, hidden.shape[1], hidden.shape[2]))
        out[0, -1] = delta
        return out

    with torch.inference_mode(), steering_hook(model, layer, offset):
        mask = attention_mask
        logits = stepper.prefill(input_ids, mask) if max_new_tokens > 0 else None
        for step in range(max_new_tokens):
            assert logits is not None
            logits = logits.float()
            if return_logits:
                step_logits.append(logits.cpu())
            tokens = _choose(logits, do_sample, temperature, top_k, top_p, generator)
            tokens = torch.where(finished, torch.full_like(tokens, pad_token_id), tokens)
            new_tokens += int((~finished).sum())
            generated.append(tokens)
            if eos is not None:
                finished |= torch.isin(tokens, eos)
            if bool(finished.all()) or step == max_new_tokens - 1:
                break
            mask = torch.cat([mask, mask.new_ones((batch, 1))], dim=1)
            logits = stepper.step(tokens, mask)

    sequences = input_ids
    if generated:
        sequences = torch.cat([input_ids, torch.stack(generated, dim=1)], dim=1)
    return SteeredOutput(
        sequences=sequences,
        logits=step_logits if return_logits else None,
        new_tokens=new_tokens,
    )


# --- sampling ---------------------------------------------------------------


def _choose(
    logits: Tensor,
    do_sample: bool,
    temperature: float,
    top_k: int,
    top_p: float,
    generator: torch.Generator | None,
) -> Tensor:
    if not do_sample:
        return logits.argmax(dim=-1)
    scores = filter_logits(logits / temperature, top_k=top_k, top_p=top_p)
    probs = torch.softmax(scores, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)


def filter_logits(scores: Tensor, *, top_k: int = 0, top_p: float = 1.0) -> Tensor:
    """Top-k then top-p (nucleus) filtering of [B, V] scores; removed entries become -inf.

    Top-p keeps the smallest set of most likely tokens whose mass reaches
    ``top_p`` (a token is removed when the mass strictly above it already
    does), always at least one token, like transformers' TopPLogitsWarper.
    """
    if top_k > 0 and top_k < scores.shape[-1]:
        kth = torch.topk(scores, top_k, dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < kth, -math.inf)
    if top_p < 1.0:
        sorted_scores, order = torch.sort(scores, dim=-1, descending=True)
        probs = torch.softmax(sorted_scores, dim=-1)
        mass_before = probs.cumsum(dim=-1) - probs
        remove_sorted = mass_before >= top_p
        remove_sorted[..., 0] = False
        remove = remove_sorted.scatter(-1, order, remove_sorted)
        scores = scores.masked_fill(remove, -math.inf)
    return scores


def _generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    if seed is None:
        return None
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


def _eos_tensor(eos_token_id: int | Sequence[int] | None, device: torch.device) -> Tensor | None:
    if eos_token_id is None:
        return None
    ids = [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id)
    return torch.tensor(ids, dtype=torch.long, device=device) if ids else None
