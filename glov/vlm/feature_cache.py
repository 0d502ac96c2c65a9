"""Content-keyed on-disk store of feature tensors (one safetensors file per key).

The scorer decides what a key means; this layer only stores and returns
tensors, so the store layer can later swap the backend (e.g. MinIO) behind the
same get/put interface. A file that cannot be read back is treated as absent,
never as a crash: a cache must not be able to break a run.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

log = logging.getLogger(__name__)

# Keys become file names: keep them to a safe alphabet so a key cannot escape the root.
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
_TENSOR = "features"


class FeatureCache:
    """Tensors stored as `<root>/<key>.safetensors`, written atomically."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()

    def path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"invalid feature-cache key {key!r}")
        return self.root / f"{key}.safetensors"

    def get(self, key: str) -> torch.Tensor | None:
        """The stored tensor, or None if absent or unreadable (a corrupt file is removed)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            tensor = load_file(str(path))[_TENSOR]
        except Exception as exc:  # safetensors raises its own error types; all mean "unusable"
            log.warning("feature cache file %s is unreadable (%s); recomputing", path, exc)
            self.discard(key)
            return None
        return tensor

    def put(self, key: str, tensor: torch.Tensor, metadata: dict[str, str] | None = None) -> Path:
        """Store `tensor` under `key`; readers never see a half-written file."""
        path = self.path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.root)
        os.close(fd)
        try:
            data = {_TENSOR: tensor.detach().to("cpu").contiguous()}
            save_file(data, tmp, metadata=metadata)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def discard(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as exc:  # e.g. a read-only cache volume; the next put overwrites anyway
            log.warning("cannot remove feature cache entry %s: %s", key, exc)
