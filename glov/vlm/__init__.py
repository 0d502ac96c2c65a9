"""Vision-language models that score prompt templates (GLOV's fitness).

Names are resolved lazily: importing `glov.vlm` must not import torch or
open_clip (slow) until a scorer is actually needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glov.vlm.baselines import S_TEMP, ds_templates
    from glov.vlm.clip import ClipScorer
    from glov.vlm.feature_cache import FeatureCache
    from glov.vlm.scorer import Scorer

__all__ = ["ClipScorer", "FeatureCache", "S_TEMP", "Scorer", "ds_templates"]

_WHERE = {
    "ClipScorer": "glov.vlm.clip",
    "FeatureCache": "glov.vlm.feature_cache",
    "S_TEMP": "glov.vlm.baselines",
    "Scorer": "glov.vlm.scorer",
    "ds_templates": "glov.vlm.baselines",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'glov.vlm' has no attribute {name!r}")
