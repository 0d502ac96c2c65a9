"""file:// store: a directory on the local filesystem (the embedded default)."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from glov.store.base import ObjectExists, Store


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except RuntimeError:  # Python < 3.13 reports a symbolic link loop this way
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from None


class LocalStore(Store):
    def __init__(self, root: str | Path):
        self.root = _resolved(Path(root).expanduser())
        self.uri = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        path = _resolved(self.root / key)
        if path != self.root and self.root not in path.parents:
            raise ValueError(f"key {key!r} escapes the store root")
        return path

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        path = self._path(key)
        if not overwrite and path.exists():
            if path.read_bytes() == data:
                return  # an idempotent retry
            raise ObjectExists(f"{self.uri}/{key} exists with different content")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temporary file in the same directory, then rename: atomic.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def append_line(self, key: str, line: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as fh:
            fh.write(line.rstrip("\n").encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        return self._path(key)
