"""The decoding loops behind steered_generate, one per mode (see glov.llm.steering.decode).

Each stepper owns its cache: `prefill` runs the prompt and returns the last
position's logits, `step` appends one token per row and returns the next
logits; `attached` installs the hooks a stepper needs (only the split stepper
has any) for the duration of one generation. The steering hook itself is
installed by steered_generate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

import torch
from torch import Tensor, nn
from transformers import DynamicCache

from glov.llm.steering.vector import decoder_layers, layer_hidden, with_layer_hidden


class Stepper(Protocol):
    def attached(self) -> AbstractContextManager[object]: ...

    def prefill(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor: ...

    def step(self, tokens: Tensor, attention_mask: Tensor) -> Tensor: ...


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

    def attached(self) -> AbstractContextManager[object]:
        return nullcontext()

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

    def attached(self) -> AbstractContextManager[object]:
        return nullcontext()

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

    def attached(self) -> AbstractContextManager[object]:
        return nullcontext()

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


class _SplitCache(DynamicCache):
    """A DynamicCache whose lower layers hold one position more than its upper ones.

    Between split steps, layers <= l already hold the previous token's K/V while
    layers above l do not (theirs comes with the next pass). The masks of a
    pass are built from one layer's sizes, so they are read from the first
    upper layer: its length is where the pass's two queries start. The lower
    layers see the same key count, because they get one query less.
    """

    def __init__(self, first_upper: int) -> None:
        super().__init__()
        self.first_upper = first_upper

    def get_query_offset(self, layer_idx: int = 0) -> int:
        return super().get_query_offset(self.first_upper)

    def get_mask_sizes(self, query_length: int, layer_idx: int) -> tuple[int, int]:
        return super().get_mask_sizes(query_length, self.first_upper)

    def crop_upper(self) -> None:
        """Drop the newest position of the layers above l (it was steered)."""
        for layer in self.layers[self.first_upper :]:
            layer.crop(-1)


# Keyword arguments of a decoder layer that carry one entry per query
# position in dim 1 ([batch, queries, ...]); the split step keeps the last.
_PER_QUERY = ("position_ids", "position_embeddings")
# Passed through unchanged: the same for any number of queries.
_SHARED = ("past_key_values", "use_cache")


def _last_query(name: str, value: Any) -> Any:
    """``value`` (a decoder-layer keyword argument of a 2-query pass) for the last query only."""
    if value is None or name in _SHARED:
        return value
    if name == "attention_mask" and isinstance(value, Tensor):
        # 4D masks ([batch, 1, queries, keys]) hold a row per query. A 2D
        # padding mask (flash attention) is per key and fits any query count.
        return value[..., -1:, :] if value.ndim == 4 else value
    if name in _PER_QUERY:
        if isinstance(value, Tensor):
            return value[:, -1:]
        if isinstance(value, tuple) and all(isinstance(v, Tensor) for v in value):
            return tuple(v[:, -1:] for v in value)
    raise NotImplementedError(
        f"exact steering with exact_strategy='split' cannot narrow the decoder-layer argument "
        f"{name!r} ({type(value).__name__}) to one query; use exact_strategy='refeed', "
        "which runs the model's forward unchanged"
    )


class SplitStepper:
    """Exact: layers <= l run each new token once, the layers above l run it twice.

    Each step is one pass of the stock forward over [previous token, new
    token], as in RefeedStepper, but layers <= l only compute the new token:
    the previous token's K/V there were cached by the step before (its lower
    layers never see the offset) and its layer-l output was kept. Hooks narrow
    the lower layers to the last query and, after layer l, put the kept
    unsteered state of the previous token back in front of the new one; the
    steering hook then steers the new one, the layers above l cache the
    previous token unsteered, and the new token's steered K/V are cropped there.
    """

    def __init__(self, model: nn.Module, layer: int) -> None:
        self.model = model
        self.layers = decoder_layers(model)
        if not 0 <= layer < len(self.layers) - 1:
            raise ValueError("the split stepper needs a decoder layer above the steered one")
        self.layer = layer
        self.cache = _SplitCache(first_upper=layer + 1)
        self.previous: Tensor | None = None
        self.next_pos: Tensor | None = None
        # Layer l's unsteered output for the previous token, [batch, 1, hidden].
        self.kept: Tensor | None = None
        self.stepping = False

    @contextmanager
    def attached(self) -> Iterator[None]:
        handles = [
            module.register_forward_pre_hook(self._narrow, with_kwargs=True)
            for module in self.layers[: self.layer + 1]
        ]
        # prepend: runs before the steering hook, so it sees the unsteered output.
        handles.append(self.layers[self.layer].register_forward_hook(self._join, prepend=True))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def _narrow(
        self, _module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        if not self.stepping:
            return None
        if args:
            args = (args[0][:, -1:], *args[1:])
        kwargs = {
            name: value[:, -1:] if name == "hidden_states" else _last_query(name, value)
            for name, value in kwargs.items()
        }
        return args, kwargs

    def _join(self, _module: nn.Module, _args: Any, output: Any) -> Any:
        hidden = layer_hidden(output)
        last = hidden[:, -1:]
        if not self.stepping:  # prefill: keep the last prompt position's state
            self.kept = last.clone()
            return None
        assert self.kept is not None
        joined = torch.cat([self.kept.expand(hidden.shape[0], -1, -1), last], dim=1)
        self.kept = last
        return with_layer_hidden(output, joined)

    def prefill(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        # A 1-token prompt leaves the upper layers empty after the crop: nothing to share.
        share = input_ids.shape[1] > 1 and _same_rows(input_ids, attention_mask)
        self.stepping = False
        logits = _prefill(self.model, self.cache, input_ids, attention_mask, share, crop=False)
        self.cache.crop_upper()
        self.previous = input_ids[:, -1]
        self.next_pos = attention_mask.sum(dim=-1)
        return logits

    def step(self, tokens: Tensor, attention_mask: Tensor) -> Tensor:
        assert self.previous is not None and self.next_pos is not None
        self.stepping = True
        try:
            out = self.model(
                input_ids=torch.stack([self.previous, tokens], dim=1),
                attention_mask=attention_mask,
                position_ids=torch.stack([self.next_pos - 1, self.next_pos], dim=1),
                past_key_values=self.cache,
                use_cache=True,
                logits_to_keep=1,
            )
        finally:
            self.stepping = False
        self.cache.crop_upper()
        self.previous = tokens
        self.next_pos = self.next_pos + 1
        return _last_logits(out)
