"""One storage interface for run directories and caches.

Keys are '/'-separated relative paths inside the store's root. Every write is
atomic (write a temporary object, then publish under the final key), so a
reader never sees a half-written object. `overwrite=False` protects existing
objects: a retry that writes identical bytes is accepted (idempotent), a write
of different bytes to an existing key is refused.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path


class StoreError(Exception):
    """The store is unreachable, refused the request, or holds a corrupt object."""


class ObjectExists(StoreError):
    """A write would replace an existing object with different content."""


class Store(ABC):
    uri: str

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """Return the object's bytes; FileNotFoundError if it does not exist."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        """Atomically publish `data` under `key`."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys under `prefix` (recursive), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def append_line(self, key: str, line: str) -> None:
        """Append one text line (JSON lines logs). Default: read, extend, republish."""
        old = self.read_bytes(key) if self.exists(key) else b""
        self.write_bytes(key, old + line.rstrip("\n").encode() + b"\n", overwrite=True)

    def read_text(self, key: str) -> str:
        return self.read_bytes(key).decode()

    def write_text(self, key: str, text: str, *, overwrite: bool = False) -> None:
        self.write_bytes(key, text.encode(), overwrite=overwrite)

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for the key when the store is local, else None."""
        return None

    def upload(self, key: str, path: Path, *, overwrite: bool = False) -> None:
        """Publish the file at `path` under `key` (stores that can stream override this)."""
        self.write_bytes(key, path.read_bytes(), overwrite=overwrite)

    def download(self, key: str, dest: Path) -> int:
        """Write the object to the file `dest`; returns its size (FileNotFoundError if absent)."""
        data = self.read_bytes(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        return len(data)

    def child(self, prefix: str) -> Store:
        """A view of this store rooted at `prefix`."""
        return PrefixStore(self, prefix)


class PrefixStore(Store):
    def __init__(self, inner: Store, prefix: str):
        self.inner = inner
        self.prefix = prefix.strip("/")
        self.uri = inner.uri.rstrip("/") + "/" + self.prefix

    def _k(self, key: str) -> str:
        return f"{self.prefix}/{key}" if key else self.prefix

    def read_bytes(self, key):
        return self.inner.read_bytes(self._k(key))

    def write_bytes(self, key, data, *, overwrite=False):
        self.inner.write_bytes(self._k(key), data, overwrite=overwrite)

    def exists(self, key):
        return self.inner.exists(self._k(key))

    def list(self, prefix=""):
        cut = len(self.prefix) + 1
        return [k[cut:] for k in self.inner.list(self._k(prefix))]

    def delete(self, key):
        self.inner.delete(self._k(key))

    def append_line(self, key, line):
        self.inner.append_line(self._k(key), line)

    def local_path(self, key):
        return self.inner.local_path(self._k(key))

    def upload(self, key, path, *, overwrite=False):
        self.inner.upload(self._k(key), path, overwrite=overwrite)

    def download(self, key, dest):
        return self.inner.download(self._k(key), dest)
