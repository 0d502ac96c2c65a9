"""Models and datasets from the object store, downloaded once per pod.

`fetch_to_local("s3://models/clip-vit-b32/", cache_root, max_bytes)` returns a
local path (a directory for a prefix, a file for a single object). Entries are
keyed by the URI and the etags and sizes of its objects, so a re-uploaded model
is fetched again while an unchanged one is served from disk. Downloads go into
a temporary directory that is renamed into place, so an entry is either whole
or absent; a per-entry file lock makes concurrent processes in one pod wait for
one download instead of each doing their own. Least-recently-used entries are
evicted when the cache grows past max_bytes.

Layout: <cache_root>/<name>-<hash>/{manifest.json, data/...}. The manifest's
mtime is the LRU clock (touched on every hit).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from glov.config.store_metrics_pipeline import StoreConfig
from glov.filelock import exclusive
from glov.store.credentials import S3Settings
from glov.store.s3 import ObjectInfo, S3Store, parse_s3_uri

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_LOCKS = ".locks"
_OPTION = "store.cache_dir"


def fetch_to_local(
    uri: str,
    cache_root: str | Path,
    max_bytes: int,
    *,
    config: StoreConfig | None = None,
) -> Path:
    """A local path holding the object or prefix at `uri`; downloads only on a miss.

    Non-s3 URIs (file://PATH or a bare path) are returned as they are: local
    data needs no cache. A URI ending in "/" is always a prefix; otherwise an
    object with exactly that key wins over a prefix of the same name.
    """
    if not uri.startswith("s3://"):
        path = Path(uri.removeprefix("file://")).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"{uri}: no such file or directory")
        return path

    bucket, key = parse_s3_uri(uri)
    store = S3Store(bucket, settings=S3Settings.from_env(), config=config)
    listed = store.list_info(key)
    exact = [o for o in listed if o.key == key]
    is_object = bool(exact) and not uri.endswith("/")
    objects = exact if is_object else [o for o in listed if o.key != key]
    if not objects:
        raise FileNotFoundError(f"{uri}: no object or prefix with that name")

    root = Path(cache_root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    entry = root / _entry_name(uri, objects)
    with exclusive(root / _LOCKS / f"{entry.name}.lock", f"downloading {uri}", option=_OPTION):
        if (entry / MANIFEST).is_file():
            log.debug("cache hit for %s at %s", uri, entry)
        else:
            _download(store, uri, key, objects, is_object, root, entry)
        # The LRU clock. An explicit fine-grained time: the kernel stamps files
        # with a coarse clock (a few ms), so two entries used within one tick
        # would tie and the eviction order between them would be arbitrary.
        now = time.time_ns()
        os.utime(entry / MANIFEST, ns=(now, now))
    evict(root, max_bytes, keep=entry)
    data = entry / "data"
    return data / _basename(key) if is_object else data


def fetch_with_config(uri: str, config: StoreConfig) -> Path:
    """fetch_to_local with the cache location and size limit of a StoreConfig."""
    max_bytes = int(config.cache_max_gib * 1024**3)
    return fetch_to_local(uri, config.cache_dir, max_bytes, config=config)


def evict(root: Path, max_bytes: int, *, keep: Path | None = None) -> list[Path]:
    """Remove least-recently-used entries until the cache fits in max_bytes.

    `keep` (the entry just returned to a caller) is never evicted, even when it
    alone is over the limit. Returns the evicted entries.
    """
    evicted: list[Path] = []
    with exclusive(root / _LOCKS / "evict.lock", "evicting cache entries", option=_OPTION):
        _sweep_leftovers(root)
        entries = []
        for path in root.iterdir():
            manifest = path / MANIFEST
            if path.name.startswith(".") or not manifest.is_file():
                continue
            try:
                size = int(json.loads(manifest.read_text())["bytes"])
                used = manifest.stat().st_mtime_ns
            except (OSError, ValueError, KeyError):
                continue  # vanished or unreadable: not ours to count
            entries.append((used, size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= max_bytes:
                break
            if keep is not None and path == keep:
                continue
            _remove_dir(root, path)
            evicted.append(path)
            total -= size
            log.info("evicted %s from the model/dataset cache (%d bytes)", path.name, size)
        if total > max_bytes:
            log.warning(
                "model/dataset cache at %s holds %d bytes, over its %d byte limit: the "
                "entry in use is larger than the limit (raise store.cache_max_gib)",
                root,
                total,
                max_bytes,
            )
    return evicted


def _download(
    store: S3Store,
    uri: str,
    key: str,
    objects: list[ObjectInfo],
    is_object: bool,
    root: Path,
    entry: Path,
) -> None:
    total = sum(o.size for o in objects)
    log.info("downloading %s (%d objects, %d bytes) to %s", uri, len(objects), total, entry)
    tmp = root / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
    try:
        for obj in objects:
            rel = _basename(key) if is_object else _relative(obj.key, key)
            # Models uploaded with other tools carry no glov checksum: accept
            # those on the size check; verify the ones that have it.
            store.download(obj.key, tmp / "data" / rel, require_checksum=False)
        manifest = {
            "uri": uri,
            "bytes": total,
            "objects": [{"key": o.key, "etag": o.etag, "size": o.size} for o in objects],
            "fetched_at": time.time(),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        os.rename(tmp, entry)  # atomic publish: the entry is whole or absent
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _entry_name(uri: str, objects: list[ObjectInfo]) -> str:
    h = hashlib.sha256(uri.encode())
    for o in sorted(objects, key=lambda o: o.key):
        h.update(f"\n{o.key}\t{o.etag}\t{o.size}".encode())
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", uri.rstrip("/").rsplit("/", 1)[-1])[:40]
    return f"{readable or 'bucket'}-{h.hexdigest()[:24]}"


def _basename(key: str) -> str:
    return key.rstrip("/").rsplit("/", 1)[-1]


def _relative(name: str, prefix: str) -> str:
    rel = name[len(prefix) + 1 :] if prefix else name
    if not rel or any(p in ("", ".", "..") for p in rel.split("/")):
        raise ValueError(f"object key {name!r} does not map to a safe local path")
    return rel


def _remove_dir(root: Path, path: Path) -> None:
    # Rename first, so no reader ever sees a half-deleted entry under its name.
    trash = root / f".trash-{uuid.uuid4().hex}"
    try:
        os.rename(path, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _sweep_leftovers(root: Path) -> None:
    """Delete temp dirs of crashed downloads and trash of interrupted evictions."""
    for path in root.glob(".trash-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in root.glob(".tmp-*"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
