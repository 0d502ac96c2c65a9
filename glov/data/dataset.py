"""What a loaded dataset is: class names, image paths and labels; splits of it.

`Split.content_key` keys the image-feature cache by image bytes, not paths.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from PIL import Image

from glov.digests import sha256_file
from glov.errors import DataError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    classnames: list[str]  # readable names; index == label
    paths: list[str]  # absolute image paths
    labels: list[int]
    # The DS-TEMP set of a catalogue dataset (glov.data.catalogue); None: picked by name.
    ds_temp_set: str | None = None


@dataclass(frozen=True)
class Split:
    paths: tuple[str, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.paths)

    def content_key(self) -> str:
        """sha256 over every image's bytes and label, in order.

        Keys the image-feature cache by content, not by path, so a changed file
        invalidates it and a moved dataset still hits it.
        """
        h = hashlib.sha256()
        for path, label in zip(self.paths, self.labels, strict=True):
            h.update(_file_digest(path).encode())
            h.update(f":{label};".encode())
        return h.hexdigest()


_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}


def _file_digest(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise DataError(
            f"image {path} cannot be read: {exc.strerror}", "restore or remove the file"
        ) from None
    # An in-place rewrite changes ctime and usually the inode (editors and
    # atomic writers replace the file), so this memo key is safe in practice.
    memo = (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if memo not in _DIGESTS:
        _DIGESTS[memo] = sha256_file(path)
    return _DIGESTS[memo]


def load_image(path: str) -> Image.Image:
    """Open an image as RGB, or raise a DataError that names the file."""
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except Exception as exc:
        # Besides OSError (truncated, missing) and UnidentifiedImageError, Pillow's
        # decoders raise SyntaxError, ValueError, struct.error, EOFError,
        # DecompressionBombError... for damaged files: all mean "this file".
        raise DataError(
            f"image {path} is unreadable ({exc.__class__.__name__}: {exc})",
            "replace the file with a valid image or remove it from the dataset",
        ) from None
