"""Hugging Face loading helpers shared by the optimizer LLM (glov/llm) and the
generative VLM (glov/vlm): the device and precision a model loads on, the error
for a model the hub cannot give, and the generation settings both decode with.
"""

from __future__ import annotations

from typing import Any

import torch

from glov.errors import ModelError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def pick_device(spec: str, key: str) -> torch.device:
    """The device `spec` names (auto, cpu, cuda[:N]); `key` is the setting, for errors."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ModelError(f"{key} {spec!r} is not a device", "use auto, cpu or cuda[:N]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"{key} {spec!r} but no CUDA GPU is visible", f"use {key}=auto or cpu")
    return device


def pick_dtype(spec: str, device: torch.device) -> torch.dtype:
    """The weights' precision: `spec`, or for auto bfloat16 on a GPU that has it,
    else float16 on a GPU, and float32 on a CPU."""
    if spec != "auto":
        return DTYPES[spec]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32  # half precision on CPU is slow and numerically poor


def hub_error(role: str, key: str, repo_id: str, exc: Exception) -> ModelError:
    """The error for a hub id that cannot be loaded; `role` (LLM, VLM) and `key`
    (llm.model, vlm.model) name what was asked for and where to point instead."""
    return ModelError(
        f"cannot load the {role} {repo_id!r} from the Hugging Face hub "
        f"(offline, unknown id, or a gated model without a token): {exc}",
        f"download it beforehand (`hf download <id> --local-dir DIR`) and set {key} to that "
        "directory or to an s3:// copy of it, or pre-populate HF_HOME",
    )


def prepare_batched_decoding(model: Any, tokenizer: Any) -> list[int]:
    """Set up `model` and its `tokenizer` for batched decoding; the ids that end an answer.

    Left padding, so every prompt ends at the same position and generation
    appends after it; a pad token (eos when the tokenizer has none); and a
    generation_config that keeps only the special-token ids (every eos of the
    model and of the tokenizer: chat models often have several), so decoding
    settings come from this project's config and never from a checkpoint's defaults.
    """
    from transformers import GenerationConfig

    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    old = model.generation_config
    eos: list[int] = []
    for value in (old.eos_token_id, tokenizer.eos_token_id):
        for e in value if isinstance(value, list) else [value]:
            if e is not None and int(e) not in eos:
                eos.append(int(e))
    model.generation_config = GenerationConfig(
        bos_token_id=old.bos_token_id if old.bos_token_id is not None else tokenizer.bos_token_id,
        eos_token_id=eos if len(eos) != 1 else eos[0],
        pad_token_id=tokenizer.pad_token_id,
    )
    return eos
