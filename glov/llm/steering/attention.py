"""SDPA attention that never copies the K/V heads for grouped-query models.

The exact steering passes feed two queries per row (the previous token
unsteered, the new one steered) behind a 4D causal mask. For such a pass,
transformers' "sdpa" attention repeats every K/V head once per query head
sharing it (``repeat_kv``): a copy of the layer's whole cache each layer and
step. On SmolLM2 (9 query heads on 3 K/V heads, a ~500-token cache, 10 rows)
that copy cost more than the rest of the exact step's extra work together:
exact steering ran at 0.5-0.6x plain decoding before, and at 0.91x plain in
CPU time with this function and the split strategy (docs/benchmarks.md).

``packed_sdpa`` instead folds each group's query heads into the query axis of
their shared K/V head ([B, H, Q, D] -> [B, H_kv, G*Q, D]), repeats the small
mask rows to match, and makes one SDPA call per K/V head: no cache copy, and
the mask-capable kernels of every device apply. transformers does the same for
a single query (``pack_gqa``); this extends it to several. Every other case
goes to transformers' own SDPA function unchanged.

``packed_attention(model)`` switches a model whose implementation is "sdpa" to
it for the duration of a generation (transformers' AttentionInterface, the
documented way to plug in an attention function) and back afterwards, also
when the body raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

PACKED_SDPA = "glov_packed_sdpa"


def packed_sdpa(
    module: nn.Module,
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attention_mask: Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[Tensor, None]:
    """transformers' SDPA attention, with several masked queries packed per K/V head."""
    batch, heads, queries, dim = query.shape
    kv_heads = key.shape[1]
    packable = (
        attention_mask is not None
        and attention_mask.ndim == 4
        and attention_mask.shape[1] == 1
        and queries > 1
        and kv_heads < heads
        and heads % kv_heads == 0
        and kwargs.get("position_bias") is None
    )
    if not packable or attention_mask is None:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    if kwargs.get("softcap") is not None:
        raise ValueError("sdpa attention does not support softcap; use eager attention")
    groups = heads // kv_heads
    # Query head h reads K/V head h // groups (as in repeat_kv), so the query
    # rows of K/V head k are its `groups` heads' queries, head by head; mask
    # row r of that packed axis is the mask row of query r % queries.
    packed = query.reshape(batch, kv_heads, groups * queries, dim)
    mask = attention_mask[..., : key.shape[-2]].repeat(1, 1, groups, 1)
    out = torch.nn.functional.scaled_dot_product_attention(
        packed, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling
    )
    return out.reshape(batch, heads, queries, dim).transpose(1, 2).contiguous(), None


AttentionInterface.register(PACKED_SDPA, packed_sdpa)
# Same masks as "sdpa": the function only changes how the heads are laid out.
AttentionMaskInterface.register(PACKED_SDPA, sdpa_mask)


@contextmanager
def packed_attention(model: nn.Module) -> Iterator[None]:
    """Use ``packed_sdpa`` while inside when ``model`` runs "sdpa"; others are left alone."""
    config = getattr(model, "config", None)
    setter = getattr(model, "set_attn_implementation", None)
    if getattr(config, "_attn_implementation", None) != "sdpa" or not callable(setter):
        yield
        return
    setter(PACKED_SDPA)
    try:
        yield
    finally:
        setter("sdpa")
