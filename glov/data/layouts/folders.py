"""Datasets distributed as one folder of images per class.

The folder name is the class key; the catalogue says where the class folders
sit under data.uri, how a key reads as a name, which keys exist (ImageNet's
WordNet ids, ImageNetV2's indices, EuroSAT's ten classes) and how the
dataset's image files are named, so that another dataset's folder is refused
rather than read with the wrong names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from glov.data.classnames import imagenet_names, imagenet_wnids, words
from glov.data.labelled import LabelledImages, class_order, images_under, subfolders
from glov.data.layouts import LayoutMismatch, first_dir

# A key check returns what is wrong with a folder name, or None.
KeyCheck = Callable[[str], str | None]


@dataclass(frozen=True)
class ClassFolders:
    expected: str
    # Where the class folders are, relative to data.uri ("" is data.uri itself): the first found.
    subdirs: tuple[str, ...] = ("",)
    name: Callable[[str], str] = words
    check_key: KeyCheck | None = None
    # A regular expression every image file name of a class matches; `{key}` is its folder name.
    file_pattern: str | None = None
    # Folders of the distribution that are not classes (Caltech101's background).
    ignored: frozenset[str] = field(default_factory=frozenset)

    def read(self, root: Path) -> LabelledImages:
        base = first_dir(root, self.subdirs, "class")
        found = {k: v for k, v in subfolders(base).items() if k not in self.ignored}
        if not found:
            raise LayoutMismatch(f"{base} has no class folders")
        keys = class_order(found)
        if self.check_key is not None:
            bad = [(k, problem) for k in keys if (problem := self.check_key(k)) is not None]
            if bad:
                shown = "; ".join(f"{k!r} {problem}" for k, problem in bad[:3])
                more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
                raise LayoutMismatch(f"class folder {shown}{more}")
        paths: list[str] = []
        labels: list[int] = []
        for label, key in enumerate(keys):
            images = images_under(found[key])
            if not images:
                raise LayoutMismatch(f"class folder {found[key]} holds no images")
            self._check_files(key, images)
            paths += images
            labels += [label] * len(images)
        return LabelledImages(
            name=None,
            description=None,
            keys=keys,
            readable=[self.name(k) for k in keys],
            paths=paths,
            labels=labels,
        )

    def _check_files(self, key: str, images: list[str]) -> None:
        if self.file_pattern is None:
            return
        pattern = re.compile(self.file_pattern.replace("{key}", re.escape(key)), re.IGNORECASE)
        name = Path(images[0]).name
        if not pattern.fullmatch(name):
            raise LayoutMismatch(
                f"image {images[0]} is not named like this dataset's files ({self.file_pattern})"
            )


def wnid_check(key: str) -> str | None:
    if key in imagenet_wnids():
        return None
    return "is not the WordNet id of an ImageNet-1k class (n01440764, ...)"


def wnid_name(key: str) -> str:
    return imagenet_names()[imagenet_wnids()[key]]


def index_check(key: str) -> str | None:
    if key.isdecimal() and int(key) < len(imagenet_wnids()):
        return None
    return "is not an ImageNet-1k class index (0 to 999)"


def index_name(key: str) -> str:
    return imagenet_names()[int(key)]


def one_of(keys: dict[str, str]) -> KeyCheck:
    """A key check that accepts exactly the keys of `keys`."""

    def check(key: str) -> str | None:
        return None if key in keys else f"is not one of this dataset's classes ({', '.join(keys)})"

    return check
