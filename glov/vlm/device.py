"""The torch device a VLM runs on, from `vlm.device` (auto, cpu, cuda[:N])."""

from __future__ import annotations

import torch

from glov.errors import ModelError


def pick_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ModelError(
            f"vlm.device {spec!r} is not a device", "use auto, cpu or cuda[:N]"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(
            f"vlm.device {spec!r} but no CUDA GPU is visible", "use vlm.device=auto or cpu"
        )
    return device
