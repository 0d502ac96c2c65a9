"""Evaluation split over shards: each shard counts correct images on a slice of a split.

A shard reports counts (correct images per template, images in its slice), never
accuracies: accuracies of slices of different sizes cannot be averaged, counts
add up. The merged accuracy sum(correct) / sum(images) is the same float as the
unsharded evaluation's, because that goes through the same counts (step.evaluate
and the final test evaluation compute correct / images too).

Any Scorer works: its accuracy on a split is a fraction of the split's images,
so round(accuracy * images) is the exact count (float32 accuracies included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from glov.data.dataset import Split

if TYPE_CHECKING:
    from glov.vlm.scorer import Scorer

# How far accuracy * images may be from a whole number: float32 accuracies carry
# a relative error of 6e-8, far below this for any split size GLOV uses.
_COUNT_TOLERANCE = 1e-3


def shard_split(split: Split, shard: int, shards: int) -> Split:
    """Images i of the split with i % shards == shard, in the split's order.

    Round-robin rather than contiguous ranges: splits are ordered by class, so
    every shard gets about the same number of images of each class.
    """
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of 0..{shards - 1}")
    return Split(split.paths[shard::shards], split.labels[shard::shards])


def to_count(accuracy: float, images: int) -> int:
    """The number of correct images behind an accuracy on `images` images."""
    exact = float(accuracy) * images
    count = round(exact)
    if abs(exact - count) > _COUNT_TOLERANCE or not 0 <= count <= images:
        # A scorer whose accuracy is not a fraction of this split's images (say,
        # one that averages over a subset) cannot be sharded by counting.
        raise ValueError(
            f"accuracy {accuracy!r} is not a fraction of {images} images: sharded "
            "evaluation needs the scorer's accuracy to be correct images / images"
        )
    return count


def template_counts(
    scorer: Scorer, templates: Sequence[str], split: Split, classnames: list[str]
) -> list[int | None]:
    """Correct images of each template alone on `split` (None: beyond the VLM's context).

    The context check does not depend on the split, so every shard rejects the
    same templates. An empty split (more shards than images) counts 0 and never
    reaches the scorer.
    """
    if not templates:
        return []
    fits = scorer.fits_context(templates, classnames)
    kept = [t for t, ok in zip(templates, fits, strict=True) if ok]
    if not kept:
        return [None] * len(templates)
    if len(split) == 0:
        accuracies = iter([0.0] * len(kept))
    else:
        accuracies = iter(scorer.accuracies(kept, split, classnames))
    return [to_count(next(accuracies), len(split)) if ok else None for ok in fits]


def ensemble_count(
    scorer: Scorer, templates: Sequence[str], split: Split, classnames: list[str]
) -> int:
    """Correct images of the templates' ensemble on `split`."""
    if len(split) == 0:
        return 0
    return to_count(scorer.ensemble_accuracy(list(templates), split, classnames), len(split))


def accuracies_from_counts(correct: Sequence[int | None], images: int) -> list[float | None]:
    """correct / images per template (None stays None: the template was not scored)."""
    if images <= 0:
        raise ValueError("an accuracy needs at least one image")
    return [None if c is None else c / images for c in correct]


@dataclass(frozen=True)
class ShardCounts:
    """One shard's result: correct images per evaluated item, images in its slice."""

    shard: int
    shards: int
    images: int
    correct: list[int | None]

    def to_json(self) -> dict:
        return {
            "shard": self.shard,
            "shards": self.shards,
            "images": self.images,
            "correct": list(self.correct),
        }

    @classmethod
    def from_json(cls, doc: dict) -> ShardCounts:
        return cls(int(doc["shard"]), int(doc["shards"]), int(doc["images"]), doc["correct"])


def merge_counts(parts: Sequence[ShardCounts]) -> tuple[list[int | None], int]:
    """(correct per item, images) over all shards; refuses an incomplete or mixed set."""
    if not parts:
        raise ValueError("no shard results to merge")
    shards = parts[0].shards
    seen = sorted(p.shard for p in parts)
    if seen != list(range(shards)) or any(p.shards != shards for p in parts):
        raise ValueError(f"shard results {seen} are not exactly shards 0..{shards - 1}")
    width = len(parts[0].correct)
    if any(len(p.correct) != width for p in parts):
        raise ValueError("shard results count different numbers of items")
    correct: list[int | None] = []
    for i in range(width):
        column = [p.correct[i] for p in parts]
        if all(c is None for c in column):
            correct.append(None)
        elif any(c is None for c in column):
            raise ValueError(f"item {i} was scored by some shards and not by others")
        else:
            correct.append(sum(column))  # type: ignore[arg-type]
    return correct, sum(p.images for p in parts)
