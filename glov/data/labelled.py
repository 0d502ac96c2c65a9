"""What a dataset reader finds on disk, before the config's overrides apply.

Every reader (ImageFolder, CSV manifest, the catalogue's published layouts in
glov.data.layouts) returns `LabelledImages`; glov.data.loaders turns it into a
`Dataset`. The helpers here are the file-system rules the readers share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glov.data.dataset import IMAGE_EXTENSIONS


@dataclass
class LabelledImages:
    name: str | None  # None: the loader names it after the folder or file
    description: str | None
    keys: list[str]  # folder names / labels as the files give them, in class order
    readable: list[str]  # readable class names, same order
    paths: list[str]
    labels: list[int]
    # One sentence about the dataset (catalogue datasets), put before the class list
    # of the default description.
    about: str | None = None
    # The DS-TEMP set CLIP's authors published for this dataset (catalogue datasets).
    ds_temp_set: str | None = None


def readable_name(key: str) -> str:
    """`golden_retriever` / `golden-retriever` -> `golden retriever`."""
    return " ".join(re.sub(r"[_-]+", " ", key).split())


def class_order(keys: set[str] | dict[str, Any]) -> list[str]:
    """Folder names / labels in class order: numerically when all are integers
    (0, 1, 2, ..., 10, not 0, 1, 10, 2), else by name."""
    if keys and all(k.isdecimal() for k in keys):
        return sorted(keys, key=lambda k: (int(k), k))
    return sorted(keys)


def hidden(name: str) -> bool:
    # Dot files include macOS `._x.png` resource forks, which are not images,
    # and the temporary folders of a packaged dataset being written.
    return name.startswith(".")


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not hidden(path.name)


def images_under(folder: Path) -> list[str]:
    """Absolute paths of the images in `folder` and its subfolders, sorted; hidden ones skipped."""
    return sorted(
        str(p.absolute())
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS
        and p.is_file()
        and not any(hidden(part) for part in p.relative_to(folder).parts)
    )


def subfolders(root: Path) -> dict[str, Path]:
    """The visible subfolders of `root` by name."""
    return {d.name: d for d in root.iterdir() if d.is_dir() and not hidden(d.name)}
