"""Run and cache storage behind one interface: file:// (default) and s3://."""

from __future__ import annotations

from glov.config.store_metrics_pipeline import StoreConfig
from glov.store.base import ObjectExists, Store, StoreError
from glov.store.local import LocalStore

__all__ = ["ObjectExists", "Store", "StoreError", "LocalStore", "open_store"]


def open_store(uri: str, config: StoreConfig | None = None) -> Store:
    """Open `file://PATH`, a bare path, or `s3://BUCKET/PREFIX`.

    `config` carries the s3 retry, timeout and multipart settings.
    """
    if uri.startswith("s3://"):
        from glov.store.s3 import S3Store  # imported lazily: needs credentials

        return S3Store.from_uri(uri, config)
    path = uri.removeprefix("file://")
    return LocalStore(path)
