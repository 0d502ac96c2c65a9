"""Loading an image-text-to-text model and its processor with stock transformers.

The processor pads on the left (batched generation appends after the prompt),
and the generation config keeps only the special-token ids, so decoding is the
paper's plain greedy search and never a checkpoint's sampling defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from glov.config import VLMConfig
from glov.errors import ModelError
from glov.vlm.device import pick_device

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

# Model types (config.json) the stock classes cannot drive, and why; checked before loading.
UNSUPPORTED: dict[str, tuple[str, str]] = {
    "molmo": (
        "the original Molmo (allenai/Molmo-*-0924, the paper's Molmo) ships its own code: "
        "MolmoForCausalLM behind AutoModelForCausalLM, not an AutoModelForImageTextToText "
        "model; its processor builds prompts with processor.process() instead of a chat "
        "template, and it decodes with model.generate_from_batch() instead of generate(), "
        "so neither the plain nor the prefix-reuse path of this scorer can run it",
        "use Molmo2 (allenai/Molmo2-*), which transformers ships as an image-text-to-text "
        "model with a chat template, or another VLM (LLaVA-OneVision, Qwen2-VL, SmolVLM...)",
    ),
}


def _refuse_unsupported(model_dir: Path) -> None:
    try:
        model_type = json.loads((model_dir / "config.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        return  # from_pretrained names what is wrong with the files
    if model_type in UNSUPPORTED:
        why, fix = UNSUPPORTED[model_type]
        raise ModelError(f"cannot score with {model_dir} (model_type {model_type}): {why}", fix)


@dataclass
class LoadedVLM:
    model: Any  # a transformers AutoModelForImageTextToText model, in eval mode
    processor: Any  # its AutoProcessor (chat template, image processor, tokenizer)
    device: torch.device
    dtype: torch.dtype
    eos_token_ids: list[int]
    pad_token_id: int

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer

    @property
    def context_length(self) -> int | None:
        text = self.model.config.get_text_config()
        value = getattr(text, "max_position_embeddings", None)
        return int(value) if value else None


def pick_dtype(spec: str, device: torch.device) -> torch.dtype:
    if spec != "auto":
        return _DTYPES[spec]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32  # half precision on CPU is slow and numerically poor


def load_vlm(model_dir: Path, cfg: VLMConfig) -> LoadedVLM:
    """The model and processor in `model_dir`, ready for greedy batched generation."""
    from transformers import AutoModelForImageTextToText, AutoProcessor, GenerationConfig

    _refuse_unsupported(model_dir)
    device = pick_device(cfg.device)
    dtype = pick_dtype(cfg.dtype, device)
    kwargs: dict[str, Any] = dict(trust_remote_code=cfg.trust_remote_code, local_files_only=True)
    try:
        processor = AutoProcessor.from_pretrained(model_dir, **kwargs)
        model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=dtype, **kwargs)
    except Exception as exc:  # transformers raises many types for "not this kind of model"
        raise ModelError(
            f"cannot load an image-text-to-text model from {model_dir}: {exc}",
            "point vlm.model at a generative VLM (LLaVA-OneVision, Qwen2-VL, SmolVLM...) with "
            "its processor; set vlm.trust_remote_code=true only for models that need it",
        ) from exc
    tokenizer = getattr(processor, "tokenizer", None)
    if tokenizer is None or getattr(processor, "chat_template", None) is None:
        raise ModelError(
            f"the processor in {model_dir} has no tokenizer or no chat template",
            "use a chat (instruction-tuned) VLM whose processor ships a chat template",
        )
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model.to(device).eval()
    old = model.generation_config
    eos: list[int] = []
    for value in (old.eos_token_id, tokenizer.eos_token_id):
        for e in value if isinstance(value, list) else [value]:
            if e is not None and int(e) not in eos:
                eos.append(int(e))
    model.generation_config = GenerationConfig(
        bos_token_id=old.bos_token_id,
        eos_token_id=eos,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LoadedVLM(model, processor, device, dtype, eos, int(tokenizer.pad_token_id))
