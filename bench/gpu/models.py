"""Random-weight models built from configs directly on the device."""

from __future__ import annotations

from typing import Any

import torch


def vocab_rows(scale_vocab: int, tokenizer: Any) -> int:
    """The embedding rows: the real model's count, or the tokenizer's rounded up to 64."""
    top = max(tokenizer.get_vocab().values()) + 1
    size = scale_vocab or -(-max(top, len(tokenizer)) // 64) * 64
    if top > size or len(tokenizer) > size:
        raise ValueError(f"tokenizer ids reach {top} but the vocabulary has {size} rows")
    return size


def build_random(cls: Any, config: Any, device: torch.device, dtype: torch.dtype, seed: int) -> Any:
    """A random-weight model initialised on `device` in `dtype` (no CPU copy of the weights)."""
    torch.manual_seed(seed)
    with torch.device(device):
        model = cls._from_config(config, dtype=dtype)
    return model.eval()


def param_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
