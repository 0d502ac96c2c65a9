"""What every scorer checks before scoring: the templates as a list, the labels in range."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from glov.data import Split
from glov.errors import DataError


def as_list(templates: str | Sequence[str]) -> list[str]:
    if isinstance(templates, str):
        return [templates]
    return list(templates)


def checked_labels(split: Split, n_classes: int, device: torch.device | None = None):
    """The split's labels as a tensor, each an index into the `n_classes` class names."""
    if not n_classes:
        raise DataError("no class names given", "give the dataset's class names")
    labels = torch.tensor(split.labels, dtype=torch.long, device=device)
    if labels.numel() and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(
            f"split labels range over {int(labels.min())}..{int(labels.max())} "
            f"but only {n_classes} class names were given",
            "pass every class name of the dataset, in label order",
        )
    return labels
