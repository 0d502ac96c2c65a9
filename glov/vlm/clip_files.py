"""The files a CLIP-style VLM setting names: a model-config JSON, a checkpoint file.

Checked without loading anything (no torch, no open_clip), so a run can refuse
a missing file before it creates its run directory; glov.vlm.model_names and
the scorer (glov.vlm.clip) then register and load what these name.
"""

from __future__ import annotations

from pathlib import Path

from glov.config import VLMConfig
from glov.errors import ModelError
from glov.file_syntax import read_json_file

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


def model_config_file(model: str) -> Path | None:
    """The model-config JSON vlm.model names, checked; None for a model name."""
    if not (model.endswith(".json") or Path(model).is_file()):
        return None
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelError(
            f"model config file {model} does not exist",
            "give vlm.model an open_clip model name or the path to a model-config JSON",
        )
    _check_model_config(path)
    return path


def check_local_files(cfg: VLMConfig) -> None:
    """vlm.model's config JSON and vlm.pretrained's checkpoint, where they are paths,
    exist; nothing loads. A run calls this before it creates anything."""
    model_config_file(cfg.model)
    pretrained = cfg.pretrained
    # A URI (build://, s3://) is not a local path: built or downloaded on first use.
    if pretrained is None or "://" in pretrained or Path(pretrained).expanduser().is_file():
        return
    if looks_like_path(pretrained):
        raise no_checkpoint(pretrained)


def no_checkpoint(pretrained: str) -> ModelError:
    return ModelError(
        f"checkpoint file {pretrained} does not exist",
        "fix vlm.pretrained, or use an open_clip tag such as 'openai'",
    )


def _check_model_config(path: Path) -> None:
    fix = "fix or replace the open_clip model config named by vlm.model"
    cfg = read_json_file(path, fix, ModelError)
    keys = ("embed_dim", "vision_cfg", "text_cfg")
    missing = [k for k in keys if not isinstance(cfg, dict) or k not in cfg]
    if missing:
        raise ModelError(
            f"model config {path} lacks {', '.join(missing)}",
            "write an open_clip model config (embed_dim, vision_cfg, text_cfg)",
        )


def looks_like_path(pretrained: str) -> bool:
    return "/" in pretrained or "\\" in pretrained or pretrained.endswith(CHECKPOINT_SUFFIXES)
