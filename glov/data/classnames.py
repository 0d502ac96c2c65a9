"""Readable class names of the catalogue's datasets, as the paper's evaluation names them.

The GLOV authors read their datasets with CoOp's loaders, which turn a dataset's
own labels into the names CLIP is prompted with: underscores become spaces, a
few labels are renamed, SUN397's `/a/apartment_building/outdoor` becomes
`outdoor apartment building`, a Stanford Cars year moves to the front. The
rules below restate those facts. ImageNet's names come from open_clip
(`open_clip.zero_shot_metadata.IMAGENET_CLASSNAMES`, CLIP's cleaned names,
indexed like the sorted WordNet ids in names/imagenet_wnids.txt); Flowers102's
from the dataset's published label-to-name list (names/flowers102.txt, label 1
first), since its own files give only numbers.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_NAMES = Path(__file__).with_name("names")


def words(key: str) -> str:
    """A label as words: underscores become spaces (hyphens stay: `polka-dotted`, `707-320`)."""
    return " ".join(key.replace("_", " ").split())


def camel_words(key: str) -> str:
    """UCF101's `ApplyEyeMakeup` -> `Apply Eye Makeup`; `Apply_Eye_Makeup` reads the same."""
    if "_" in key or " " in key:
        return words(key)
    return " ".join(re.findall(r"[A-Z][^A-Z]*|^[^A-Z]+", key)) or key


def sun397_name(key: str) -> str:
    """`a/apartment_building/outdoor` -> `outdoor apartment building` (letter folder dropped,
    qualifiers such as indoor/outdoor first)."""
    parts = [p for p in key.strip("/").split("/") if p][1:]
    return words(" ".join(reversed(parts)))


def car_name(meta_name: str) -> str:
    """`AM General Hummer SUV 2000` -> `2000 AM General Hummer SUV` (the year first)."""
    parts = meta_name.split()
    return " ".join([parts[-1], *parts[:-1]]) if len(parts) > 1 else meta_name


def _lines(name: str) -> list[str]:
    return [line.strip() for line in (_NAMES / name).read_text().splitlines() if line.strip()]


@cache
def imagenet_wnids() -> dict[str, int]:
    """ImageNet-1k's WordNet ids (n01440764, ...) -> class index (their sorted order)."""
    return {wnid: i for i, wnid in enumerate(_lines("imagenet_wnids.txt"))}


@cache
def imagenet_names() -> tuple[str, ...]:
    """ImageNet-1k's readable names by class index, as open_clip ships them."""
    # Imported here: open_clip pulls in torch, which only ImageNet-family datasets need.
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    return tuple(IMAGENET_CLASSNAMES)


@cache
def flowers102_names() -> tuple[str, ...]:
    """Oxford Flowers102's names by label (label 1 first)."""
    return tuple(_lines("flowers102.txt"))
