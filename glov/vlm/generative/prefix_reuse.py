"""Prefix KV reuse: encode an image once, answer every candidate prompt from its KV cache.

Every candidate prompt of every step is shown after the same chat prefix (the
user turn's start and the image), which dominates the sequence: hundreds to
thousands of image tokens against a few dozen prompt tokens. The prefix is
prefilled once per image (vision encoder included); each batch of prompts then
starts from a copy of its KV cache, made once into room preallocated for the
prompts and answers (no per-token re-concatenation of the long prefix), and
greedy decoding runs here.

Exactness against plain left-padded `generate` over the same (image, prompt)
pairs: the token sequence of each pair is the same (the prefix's tokens, then
the prompt's, checked at the boundary), every token sits at the same position
and attends to the same tokens. The prompts of a batch differ in length, so
their padding goes between the shared prefix and each prompt, masked out, with
positions counted over real tokens only (as generate counts them under left
padding). Only floating-point rounding of differently shaped kernels differs.

Models with multi-dimensional rotary positions (Qwen2-VL's M-RoPE) take the
plain path: their text positions depend on the image grid.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from glov.vlm.generative.loading import LoadedVLM
from glov.vlm.generative.plain import until_eos

log = logging.getLogger(__name__)


@dataclass
class PrefixKV:
    ids: list[int]  # the prefix's tokens
    cache: Any  # a transformers DynamicCache holding their keys and values, batch 1
    nbytes: int


class PrefixStore:
    """Prefix KV caches kept across calls (and steps), least recently used dropped first."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, PrefixKV] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> PrefixKV | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
        return entry

    def put(self, key: str, entry: PrefixKV) -> None:
        if entry.nbytes > self.max_bytes:
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while sum(e.nbytes for e in self._entries.values()) > self.max_bytes:
            self._entries.popitem(last=False)


def supports_prefix_reuse(model: Any) -> bool:
    """False for models whose text positions are not plain 1-D token positions (M-RoPE)."""
    inner = getattr(model, "model", model)
    if hasattr(inner, "get_rope_index") or hasattr(model, "get_rope_index"):
        return False
    text = model.config.get_text_config()
    for attr in ("rope_parameters", "rope_scaling"):
        params = getattr(text, attr, None)
        if isinstance(params, dict) and "mrope_section" in params:
            return False
    return True


def _cache_bytes(cache: Any) -> int:
    total = 0
    for layer in getattr(cache, "layers", []):
        for name in ("keys", "values"):
            tensor = getattr(layer, name, None)
            if isinstance(tensor, torch.Tensor):
                total += tensor.numel() * tensor.element_size()
    return total


@functools.cache
def _growing_layer() -> type:
    """A dynamic cache layer with preallocated room (the class, built on first use).

    Each decoding step writes its keys and values after the last ones and
    attends to a view of the filled part, instead of concatenating the whole
    cache anew every token (a copy of the long image prefix per step). The
    views hold the values the concatenation would, so attention computes the
    same numbers.
    """
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        def __init__(self, keys: torch.Tensor, values: torch.Tensor, room: int) -> None:
            super().__init__()
            n, heads, length, dim = keys.shape
            shape = (n, heads, length + room, dim)
            self._k = torch.empty(shape, dtype=keys.dtype, device=keys.device)
            self._v = torch.empty(shape, dtype=values.dtype, device=values.device)
            self._k[:, :, :length] = keys
            self._v[:, :, :length] = values
            self._len = length
            self.dtype, self.device = keys.dtype, keys.device
            self.is_initialized = True
            self.keys, self.values = self._k[:, :, :length], self._v[:, :, :length]

        def update(self, key_states, value_states, *args, **kwargs):
            end = self._len + key_states.shape[-2]
            if end > self._k.shape[-2]:  # out of room: grow by concatenation
                self._k = torch.cat([self._k[:, :, : self._len], key_states], dim=-2)
                self._v = torch.cat([self._v[:, :, : self._len], value_states], dim=-2)
            else:
                self._k[:, :, self._len : end] = key_states
                self._v[:, :, self._len : end] = value_states
            self._len = end
            self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
            return self.keys, self.values

        def get_seq_length(self) -> int:
            return self._len

    return GrowingLayer


def _batch_cache(cache: Any, n: int, room: int) -> Any:
    """The batch-1 prefix cache as a batch of `n` with room for `room` tokens; `cache` intact.

    Plain dynamic layers become preallocated ones (_growing_layer); any
    other layer kind takes a deep copy repeated along the batch.
    """
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None)
    if not layers or any(
        type(layer) is not DynamicLayer or not layer.is_initialized for layer in layers
    ):
        out = copy.deepcopy(cache)
        out.batch_repeat_interleave(n)
        return out
    out = copy.copy(cache)
    grow = _growing_layer()
    out.layers = [
        grow(layer.keys.expand(n, -1, -1, -1), layer.values.expand(n, -1, -1, -1), room)
        for layer in layers
    ]
    return out


def _accepts(model: Any, name: str) -> bool:
    return name in inspect.signature(model.forward).parameters


def split_suffixes(
    vlm: LoadedVLM, chats: Sequence[str], prefix_text: str
) -> list[list[int]] | None:
    """Each chat's tokens after `prefix_text`, or None if a chat does not split cleanly there.

    The split is clean when tokenizing prefix and suffix apart gives the tokens
    of the whole chat (no token spans the boundary); image tokens are expanded
    inside the prefix only, so this text-level check carries over.
    """
    tok = vlm.tokenizer
    image_token = getattr(vlm.model.config, "image_token_id", None)
    head = tok(prefix_text, add_special_tokens=False)["input_ids"]
    suffixes = []
    for chat in chats:
        if not chat.startswith(prefix_text) or len(chat) == len(prefix_text):
            return None
        tail = tok(chat[len(prefix_text) :], add_special_tokens=False)["input_ids"]
        whole = tok(chat, add_special_tokens=False)["input_ids"]
        if head + tail != whole or (image_token is not None and image_token in tail):
            return None
        suffixes.append(list(tail))
    return suffixes


@torch.inference_mode()
def prefill_prefix(vlm: LoadedVLM, image: Image.Image, prefix_text: str) -> PrefixKV:
    """The KV cache of the chat prefix with `image` (the vision encoder runs here, once)."""
    inputs = vlm.processor(images=[image], text=[prefix_text], return_tensors="pt").to(vlm.device)
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(vlm.dtype)
    extra = {"logits_to_keep": 1} if _accepts(vlm.model, "logits_to_keep") else {}
    out = vlm.model(**inputs, use_cache=True, **extra)
    cache = out.past_key_values
    ids = inputs["input_ids"][0].tolist()
    return PrefixKV(ids=ids, cache=cache, nbytes=_cache_bytes(cache))


@torch.inference_mode()
def decode_suffixes(
    vlm: LoadedVLM, prefix: PrefixKV, suffixes: Sequence[Sequence[int]], max_new_tokens: int
) -> list[list[int]]:
    """Greedy answers for a batch of prompt suffixes, all continuing the same prefix."""
    device, n = vlm.device, len(suffixes)
    plen, width = len(prefix.ids), max(len(s) for s in suffixes)
    ids = torch.full((n, width), vlm.pad_token_id, dtype=torch.long)
    mask = torch.zeros((n, plen + width), dtype=torch.long)
    mask[:, :plen] = 1
    for row, suffix in enumerate(suffixes):
        ids[row, width - len(suffix) :] = torch.tensor(list(suffix), dtype=torch.long)
        mask[row, plen + width - len(suffix) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    # Positions over real tokens only, as generate derives them from a left-padded mask.
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)[:, plen:]
    cache = _batch_cache(prefix.cache, n, width + max_new_tokens)
    extra = {"logits_to_keep": 1} if _accepts(vlm.model, "logits_to_keep") else {}
    eos = torch.tensor(vlm.eos_token_ids, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    tokens: list[torch.Tensor] = []
    step_ids = ids
    for _ in range(max_new_tokens):
        out = vlm.model(
            input_ids=step_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            **extra,
        )
        cache = out.past_key_values
        # Upcast as generate does; the argmax of a widened tensor is the same token.
        nxt = out.logits[:, -1, :].float().argmax(dim=-1)
        nxt = torch.where(done, torch.full_like(nxt, vlm.pad_token_id), nxt)
        tokens.append(nxt)
        done |= torch.isin(nxt, eos)
        if bool(done.all()):
            break
        step_ids = nxt[:, None]
        mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype, device=device)], dim=-1)
        positions = positions[:, -1:] + 1
    generated = torch.stack(tokens, dim=1).tolist()
    return [until_eos(row, vlm.eos_token_ids) for row in generated]


def generate_with_prefix(
    vlm: LoadedVLM,
    image: Image.Image,
    chats: Sequence[str],
    prefix_text: str,
    prefix_key: str,
    store: PrefixStore,
    max_new_tokens: int,
    batch_size: int,
) -> list[list[int]] | None:
    """Greedy answers for every chat about `image`, or None where the prefix cannot be shared."""
    suffixes = split_suffixes(vlm, chats, prefix_text)
    if suffixes is None:
        return None
    prefix = store.get(prefix_key)
    if prefix is None:
        prefix = prefill_prefix(vlm, image, prefix_text)
        store.put(prefix_key, prefix)
    answers: list[list[int]] = []
    for start in range(0, len(suffixes), batch_size):
        batch = suffixes[start : start + batch_size]
        answers.extend(decode_suffixes(vlm, prefix, batch, max_new_tokens))
    return answers
