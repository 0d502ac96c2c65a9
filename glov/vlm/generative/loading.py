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
from glov.hf import pick_device, pick_dtype, prepare_batched_decoding

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


def load_vlm(model_dir: Path, cfg: VLMConfig) -> LoadedVLM:
    """The model and processor in `model_dir`, ready for greedy batched generation."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    _refuse_unsupported(model_dir)
    device = pick_device(cfg.device, "vlm.device")
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
    model = model.to(device).eval()
    eos = prepare_batched_decoding(model, tokenizer)
    return LoadedVLM(model, processor, device, dtype, eos, int(tokenizer.pad_token_id))
