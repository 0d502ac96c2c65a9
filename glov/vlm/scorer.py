"""What the optimiser and the final evaluation need from a VLM: the Scorer protocol.

ClipScorer (clip.py) implements it; the search loop and the report are typed
against this, not against open_clip, so another kind of VLM plugs in here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from glov.data.dataset import Split


class Scorer(Protocol):
    # Image-feature cache lookups so far (memory, disk or store hits / computed).
    cache_hits: int
    cache_misses: int

    def fits_context(self, templates: Sequence[str], classnames: list[str]) -> list[bool]:
        """Per template: whether, filled with every class name, it fits the text context.

        A prompt longer than the VLM's context is truncated by its tokenizer, so
        the search rejects such templates before scoring them.
        """
        ...

    def accuracies(
        self, templates: Sequence[str], split: Split, classnames: list[str]
    ) -> list[float]:
        """Top-1 accuracy in [0, 1] of each template alone (GLOV's fitness)."""
        ...

    def accuracy(self, template: str, split: Split, classnames: list[str]) -> float:
        """Top-1 accuracy of one template."""
        ...

    def ensemble_accuracy(
        self, templates: str | Sequence[str], split: Split, classnames: list[str]
    ) -> float:
        """Top-1 accuracy of the templates' ensemble (mean class embedding)."""
        ...
