"""Generative (image-text-to-text, LLaVA-style) VLMs as GLOV's fitness function.

The VLM answers the candidate prompt about each image (greedy decoding), and a
sentence encoder maps the answer to the nearest class name (readout.py); the
fitness is the resulting top-1 accuracy. Answers are cached by content key
(answer_cache.py) and the image's prefix KV cache is shared by every prompt
(prefix_reuse.py). Importing this package loads no model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glov.vlm.generative.scorer import GenerativeScorer

__all__ = ["GenerativeScorer"]


def __getattr__(name: str) -> Any:
    if name == "GenerativeScorer":
        from glov.vlm.generative.scorer import GenerativeScorer

        return GenerativeScorer
    raise AttributeError(f"module 'glov.vlm.generative' has no attribute {name!r}")
