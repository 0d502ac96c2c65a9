"""The file layouts the catalogue's datasets are distributed in, each read into LabelledImages.

A layout reads the folder data.uri names and raises LayoutMismatch, naming what
it did not find, when the folder is not laid out that way (glov.data.catalogue
turns it into the user's error, with the expected layout).

- folders.py: one folder per class (ImageNet's WordNet-id folders, ImageNetV2's
  index folders, DTD, EuroSAT, RESISC45, Food-101, Caltech101, UCF101 frames)
- lists.py: labels in the dataset's own files (Oxford Pets file names,
  Flowers102 and Stanford Cars .mat files, FGVC Aircraft lists, SUN397's tree)
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from glov.data.labelled import LabelledImages


class LayoutMismatch(Exception):
    """The folder is not in the layout: the message says what was missing or unexpected."""


class Layout(Protocol):
    # The layout in words, for the error when a folder does not match it.
    expected: str

    def read(self, root: Path) -> LabelledImages: ...


def first_dir(root: Path, candidates: tuple[str, ...], what: str) -> Path:
    """The first of `candidates` (relative to root; "" is root itself) that is a folder."""
    for sub in candidates:
        path = root / sub if sub else root
        if path.is_dir():
            return path
    names = " or ".join(f"{root}/{c}" if c else str(root) for c in candidates)
    raise LayoutMismatch(f"there is no {what} folder ({names})")


def first_file(root: Path, candidates: tuple[str, ...], what: str) -> Path | None:
    for sub in candidates:
        if (root / sub).is_file():
            return root / sub
    return None


def labelled(
    keys_in_order: list[str], names: dict[str, str], items: list[tuple[str, str]]
) -> LabelledImages:
    """LabelledImages from (path, key) items: the classes present, in the published order."""
    present = {key for _, key in items}
    keys = [k for k in keys_in_order if k in present]
    index = {k: i for i, k in enumerate(keys)}
    ordered = sorted(items, key=lambda item: (index[item[1]], item[0]))
    return LabelledImages(
        name=None,
        description=None,
        keys=keys,
        readable=[names[k] for k in keys],
        paths=[p for p, _ in ordered],
        labels=[index[k] for _, k in ordered],
    )
