"""The decoding loops behind steered_generate, one per mode (see glov.llm.steering.decode).

Each stepper owns its cache: `prefill` runs the prompt and returns the last
position's logits, `step` appends one token per row and returns the next
logits. The steering hook itself is installed by steered_generate; a `Switch`
lets the two-pass stepper run unsteered passes.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import Tensor, nn
from transformers import DynamicCache


class Stepper(Protocol):
    def prefill(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor: ...

    def step(self, tokens: Tensor, attention_mask: Tensor) -> Tensor: ...


class Switch:
    """Whether the steering hook applies its offset (the two-pass stepper turns it off)."""

    def __init__(self) -> None:
        self.on = True


def _positions(attention_mask: Tensor) -> Tensor:
    # Left padding: real tokens count 0, 1, ... from their first position; pad
    # positions get 0 (their outputs are never attended to by real tokens).
    return (attention_mask.cumsum(dim=-1) - 1).clamp(min=0)


def _same_rows(input_ids: Tensor, attention_mask: Tensor) -> bool:
    return input_ids.shape[0] > 1 and bool(
        (input_ids == input_ids[:1]).all() and (attention_mask == attention_mask[:1]).all()
    )


def _last_logits(output: Any) -> Tensor:
    return output.logits[:, -1, :]


def _prefill(
    model: nn.Module,
    cache: DynamicCache,
    input_ids: Tensor,
    attention_mask: Tensor,
    share: bool,
    crop: bool,
) -> Tensor:
    """Run the prompt into the cache; identical rows run once and are then copied.

    `crop` drops the last position's K/V after the pass (it was steered).
    """
    batch = input_ids.shape[0]
    ids, mask = (input_ids[:1], attention_mask[:1]) if share else (input_ids, attention_mask)
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=_positions(mask),
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    if crop:
        cache.crop(-1)
    logits = _last_logits(out)
    if share:
        cache.batch_repeat_interleave(batch)
        logits = logits.expand(batch, -1)
    return logits


class ReferenceStepper:
    """No cache: every step recomputes the whole sequence (the hook steers its last position)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.ids: Tensor | None = None

    def _run(self, attention_mask: Tensor) -> Tensor:
        assert self.ids is not None
        out = self.model(
            input_ids=self.ids,
            attention_mask=attention_mask,
            position_ids=_positions(attention_mask),
            use_cache=False,
            logits_to_keep=1,
        )
        return _last_logits(out)

    def prefill(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        self.ids = input_ids
        return self._run(attention_mask)

    def step(self, tokens: Tensor, attention_mask: Tensor) -> Tensor:
        assert self.ids is not None
        self.ids = torch.cat([self.ids, tokens[:, None]], dim=1)
        return self._run(attention_mask)


class CachedStepper:
    """Plain KV-cache decoding; the hook steers the newest position and its K/V are cached."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.cache = DynamicCache()
        self.next_pos: Tensor | None = None

    def prefill(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        share = _same_rows(input_ids, attention_mask)
        logits = _prefill(self.model, self.cache, input_ids, attention_mask, share, crop=False)
        self.next_pos = attention_mask.sum(dim=-1)
        return logits

    def step(self, tokens: Tensor, attention_mask: Tensor) -> Tensor:
        assert self.next_pos is not None
        out = self.model(
            input_ids=tokens[:, None],
            attention_mask=attention_mask,
            position_ids=self.next_pos[:, None],
            past_key_values=self.cache,
            use_cache=True,
        )
        self.next_pos = self.next_pos + 1
        return _last_logits(out)


class RefeedStepper:
    """Exact: each pass re-feeds the previous token (unsteered) before the new one (steered)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.cache = DynamicCache()
        self.previous: Tensor | None = None
        self.next_pos: Tensor | None = None

    def prefill(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        # A 1-token prompt leaves an empty cache after the crop: nothing to share.
        share = input_ids.shape[1] > 1 and _same_rows(input_ids, attention_mask)
        # The last prompt position was steered: its K/V must not stay cached.
        logits = _prefill(self.model, self.cache, input_ids, attention_mask, share, crop=True)
        self.previous = input_ids[:, -1]
        self.next_pos = attention_mask.sum(dim=-1)
        return logits

    def step(self, tokens: Tensor, attention_mask: Tensor) -> Tensor:
        assert self.previous is not None and self.next_pos is not None
        out = self.model(
            input_ids=torch.stack([self.previous, tokens], dim=1),
            attention_mask=attention_mask,
            position_ids=torch.stack([self.next_pos - 1, self.next_pos], dim=1),
            past_key_values=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self.cache.crop(-1)
        self.previous = tokens
        self.next_pos = self.next_pos + 1
        return _last_logits(out)


class TwoPassStepper:
    """Exact fallback: a steered pass for the logits, crop, then an unsteered pass for the K/V."""

    def __init__(self, model: nn.Module, switch: Switch) -> None:
        self.model = model
        self.switch = switch
        # The unsteered pass only needs the K/V, so it skips the LM head.
        get_decoder = getattr(model, "get_decoder", None)
        decoder = get_decoder() if callable(get_decoder) else None
        self.body: nn.Module = decoder if isinstance(decoder, nn.Module) else model
        self.cache = DynamicCache()
        self.next_pos: Tensor | None = None

    def prefill(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        batch, length = input_ids.shape
        shared = _same_rows(input_ids, attention_mask)
        ids, mask = (input_ids[:1], attention_mask[:1]) if shared else (input_ids, attention_mask)
        if length > 1:
            self.switch.on = False
            try:
                self.body(
                    input_ids=ids[:, :-1],
                    attention_mask=mask[:, :-1],
                    position_ids=_positions(mask)[:, :-1],
                    past_key_values=self.cache,
                    use_cache=True,
                )
            finally:
                self.switch.on = True
        if shared and length > 1:
            self.cache.batch_repeat_interleave(batch)
        # The steered/unsteered pair for the prompt's last token is a normal step.
        self.next_pos = attention_mask.sum(dim=-1) - 1
        return self._pair(input_ids[:, -1], attention_mask)

    def step(self, tokens: Tensor, attention_mask: Tensor) -> Tensor:
        return self._pair(tokens, attention_mask)

    def _pair(self, tokens: Tensor, attention_mask: Tensor) -> Tensor:
        assert self.next_pos is not None
        position_ids = self.next_pos[:, None]
        out = self.model(
            input_ids=tokens[:, None],
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=self.cache,
            use_cache=True,
        )
        self.cache.crop(-1)
        self.switch.on = False
        try:
            self.body(
                input_ids=tokens[:, None],
                attention_mask=attention_mask,
                position_ids=position_ids,
                past_key_values=self.cache,
                use_cache=True,
            )
        finally:
            self.switch.on = True
        self.next_pos = self.next_pos + 1
        return _last_logits(out)
