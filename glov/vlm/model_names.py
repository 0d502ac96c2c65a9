"""open_clip model names: a registry name, a shipped config, or a model-config JSON file.

Below both the scorer (clip.py) and the weights built here (training/), which
both need the open_clip name of `vlm.model` before they build a model.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import open_clip

from glov.errors import ModelError
from glov.vlm.clip_files import model_config_file
from glov.vlm.towers import localise_text_tower

SHIPPED_CONFIGS = Path(__file__).parent / "model_configs"


def resolve_model_name(model: str) -> str:
    """Register the model's config with open_clip if needed and return its registry name.

    `model` is an open_clip model name, a shipped config name (glov-tiny-vit) or
    a path to a model-config JSON (registered under the file's stem).
    """
    path = model_config_file(model)
    if path is not None:
        open_clip.add_model_config(path)
        localise_text_tower(path.stem)
        return path.stem
    if model not in open_clip.list_models():
        # Shipped configs are registered lazily so importing glov has no side effects.
        open_clip.add_model_config(SHIPPED_CONFIGS)
    if model in open_clip.list_models():
        localise_text_tower(model)
        return model
    close = difflib.get_close_matches(model, open_clip.list_models(), n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise ModelError(
        f"unknown VLM model {model!r}",
        f"{hint}use a name from open_clip.list_models() or a path to a model-config JSON",
    )
