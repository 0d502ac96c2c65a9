"""Loading a checkpoint file into an open_clip model, refusing anything that does not fit.

A checkpoint is data: it is read with `weights_only` (no pickled code runs),
converted from OpenAI's layout if needed, and must match the model's keys and
shapes exactly, so a wrong file fails with a message naming what differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from open_clip.convert import convert_state_dict
from safetensors.torch import load_file

from glov.errors import ModelError


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load a checkpoint file into a flat name->tensor dict, or raise ModelError."""
    not_ckpt = ModelError(
        f"{path} is not a model checkpoint",
        "point vlm.pretrained at a .pt/.bin/.safetensors state dict saved from this model",
    )
    try:
        if path.suffix == ".safetensors":
            obj: Any = load_file(str(path), device="cpu")
        else:
            # weights_only: a checkpoint is data; never run pickled code from it.
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch/safetensors raise many types for "not a checkpoint"
        raise not_ckpt from None
    if isinstance(obj, torch.jit.ScriptModule):
        obj = obj.state_dict()
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise not_ckpt
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise not_ckpt
    # Checkpoints saved from DistributedDataParallel prefix every key with "module.".
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return dict(obj)


def load_checkpoint(model: torch.nn.Module, path: Path, model_name: str) -> None:
    state = read_state_dict(path)
    state = convert_state_dict(model, state)
    scale = getattr(model, "logit_scale", None)
    if isinstance(scale, torch.Tensor) and "logit_scale" in state:
        state["logit_scale"] = state["logit_scale"].reshape(scale.shape)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or shapes:
        parts = []
        groups = (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes))
        for label, keys in groups:
            if keys:
                parts.append(f"{len(keys)} {label} (e.g. {', '.join(keys[:3])})")
        raise ModelError(
            f"checkpoint {path} does not match model {model_name!r}: {'; '.join(parts)}",
            "use the checkpoint saved for this vlm.model, or set vlm.model to its architecture",
        )
    model.load_state_dict(state, strict=True)
