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
  steered state. Default strategy "split": the prefill runs the prompt with
  its last position steered; the layers above l then drop that position's
  (steered) K/V, the layers <= l keep theirs. Every decoding step is one pass
  of the stock forward over two tokens, the previous one (no longer last, so
  unsteered) and the new one (steered). Layers <= l compute only the new
  token: hooks narrow their inputs to the last query, since the previous
  token's K/V there are cached already, and after layer l put back the
  previous token's unsteered layer-l output, kept from the step before. The
  layers above l compute both tokens: the previous one unsteered, whose K/V
  they keep, and the new one steered, which attends to the unsteered past
  exactly as in the reference and whose K/V they drop again. So the layers
  <= l run once per new token and only the layers above l twice, with the
  model's own masks, rotary embeddings and layer code.
  "refeed" (fallback, for attention kernels whose layer arguments the split
  cannot narrow): the same two-token pass without the narrowing, every layer
  computing both tokens and dropping the newest position.
  Both feed two masked queries per row, for which transformers' SDPA copies
  every K/V head once per query head of grouped-query models; the generation
  runs with glov.llm.steering.attention's packed SDPA instead, which does not.
  Measured costs against plain decoding: docs/benchmarks.md.
- "cached": the cheap approximation. The hook steers the last position of each
  pass with a normal KV cache, so steered states of past positions enter the
  cache. Not GLOV's semantics, but one pass per token.

When all rows of the batch are the same prompt (GLOV samples K answers from
one meta-prompt), "exact" and "cached" prefill it once and repeat the cache.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from glov.llm.steering.attention import packed_attention
from glov.llm.steering.steppers import (
    CachedStepper,
    RefeedStepper,
    ReferenceStepper,
    SplitStepper,
    Stepper,
)
from glov.llm.steering.vector import (
    check_layer_index,
    decoder_layers,
    require_layer_index,
    steering_hook,
)

Mode = Literal["exact", "cached", "reference"]
ExactStrategy = Literal["split", "refeed"]


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
    steer: Steer | None,
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
    exact_strategy: ExactStrategy = "split",
) -> SteeredOutput:
    """Generate with GLOV's steering; see the module docstring for the modes.

    ``steer=None`` decodes without any offset or hook through the same loop
    and cache as the steered modes: the unsteered baseline they are measured
    against.

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

    device = next(model.parameters()).device
    input_ids = input_ids.to(device)
    attention_mask = attention_mask.to(device=device, dtype=torch.long)
    stepper: Stepper = CachedStepper(model)
    hook: AbstractContextManager[object] = nullcontext()
    if steer is not None:
        stepper, hook = _steered_stepper(model, steer, exact_strategy)

    eos = _eos_tensor(eos_token_id, device)
    generator = _generator(seed, device) if do_sample else None
    batch = input_ids.shape[0]
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    generated: list[Tensor] = []
    step_logits: list[Tensor] = []
    new_tokens = 0

    with torch.inference_mode(), packed_attention(model), hook, stepper.attached():
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


def _steered_stepper(
    model: nn.Module, steer: Steer, exact_strategy: ExactStrategy
) -> tuple[Stepper, AbstractContextManager[object]]:
    """The stepper for ``steer.mode`` and the hook that adds the offset."""
    num_layers = len(decoder_layers(model))
    layer = check_layer_index(steer.layer, num_layers)
    parameter = next(model.parameters())
    config = getattr(model, "config", None)
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    hidden_size = getattr(text_config, "hidden_size", None)
    if steer.vector.ndim != 1 or (hidden_size is not None and steer.vector.shape[0] != hidden_size):
        raise ValueError(
            f"the steering vector must be 1-D [hidden={hidden_size}], "
            f"got shape {tuple(steer.vector.shape)}"
        )
    delta = (float(steer.alpha) * steer.vector.float()).to(
        device=parameter.device, dtype=parameter.dtype
    )
    stepper: Stepper
    if steer.mode == "reference":
        stepper = ReferenceStepper(model)
    elif steer.mode == "cached":
        stepper = CachedStepper(model)
    elif steer.mode == "exact":
        if exact_strategy == "split" and layer == num_layers - 1:
            # Nothing above the steered layer: the offset reaches only the
            # logits, so plain KV-cache decoding with the hook is exact.
            stepper = CachedStepper(model)
        elif exact_strategy == "split":
            stepper = SplitStepper(model, layer)
        elif exact_strategy == "refeed":
            stepper = RefeedStepper(model)
        else:
            raise ValueError(f"unknown exact strategy {exact_strategy!r}")
    else:
        raise ValueError(f"unknown steering mode {steer.mode!r}")

    def offset(hidden: Tensor) -> Tensor | None:
        out = hidden.new_zeros((1, hidden.shape[1], hidden.shape[2]))
        out[0, -1] = delta
        return out

    return stepper, steering_hook(model, layer, offset)


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
