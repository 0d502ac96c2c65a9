"""Random-weight models built from a config, for offline tests and speed benches.

Speed does not depend on the weights, and the equalities the tests check
(steered against naive decoding, prefix reuse against plain generate) hold for
any weights, so a model built from a config stands in for a downloaded one. A
decoder is chosen by family name; bench/random_vlm.py builds the VLMs with the
same seeded builder, and bench/model_shapes.toml holds the named sizes.
"""

from __future__ import annotations

from typing import Any

import torch

# Decoder families by name: (config class, model class) in transformers.
DECODERS = {
    "llama": ("LlamaConfig", "LlamaForCausalLM"),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
    "gemma": ("GemmaConfig", "GemmaForCausalLM"),
    "mistral": ("MistralConfig", "MistralForCausalLM"),
}


def _transformers_class(name: str) -> Any:
    # Imported on use: transformers takes seconds to import, and bench/ modules that
    # only read shapes or results must not pay for it.
    import transformers

    return getattr(transformers, name)


def decoder_config(family: str, **settings: Any) -> Any:
    """The config of decoder `family` (a DECODERS name) with `settings`."""
    if family not in DECODERS:
        raise KeyError(f"no decoder family {family!r}; known: {sorted(DECODERS)}")
    return _transformers_class(DECODERS[family][0])(**settings)


def token_ids(tokenizer: Any) -> dict[str, Any]:
    """The special token ids a config takes from `tokenizer`."""
    return {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }


def random_weights(
    model_cls: Any,
    config: Any,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Any:
    """A model of `model_cls` with seeded random weights, in eval mode.

    It is initialised on `device` in `dtype`, so a paper-sized model never has a
    CPU copy. fork_rng: the weights are reproducible without resetting the
    caller's RNG stream (tests draw from it after building).
    """
    device = torch.device(device)
    # The CUDA generator too when building there (manual_seed seeds every device).
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        with device:
            model = model_cls._from_config(config, dtype=dtype)
    return model.eval()


def random_decoder(
    family: str,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    **settings: Any,
) -> Any:
    """A random-weight decoder of `family` (a DECODERS name) configured with `settings`."""
    config = decoder_config(family, **settings)
    return random_weights(_transformers_class(DECODERS[family][1]), config, seed, device, dtype)


def vocab_rows(vocab: int, tokenizer: Any) -> int:
    """The embedding rows: `vocab` (a real model's count), or 0 for the tokenizer's rounded up
    to 64; raises if a token id would fall outside them."""
    top = max(tokenizer.get_vocab().values()) + 1
    size = vocab or -(-max(top, len(tokenizer)) // 64) * 64
    if top > size or len(tokenizer) > size:
        raise ValueError(f"tokenizer ids reach {top} but the vocabulary has {size} rows")
    return size


def param_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
