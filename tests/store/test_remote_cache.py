"""fetch_to_local: models/datasets from the object store, cached per pod, LRU-evicted."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from glov.config.store_metrics_pipeline import StoreConfig
from glov.store.downloads import MANIFEST, fetch_to_local, fetch_with_config
from glov.store.s3 import CorruptObject, S3Store
from tests.servers.s3 import S3Server
from tests.store._config import FAST

MODEL = {"config.json": b'{"dim": 8}', "weights/part-0.bin": b"\x01" * 700, "tok.txt": b"a b c"}


def _upload(bucket: str, prefix: str, files: dict[str, bytes]) -> None:
    store = S3Store.from_uri(f"s3://{bucket}/{prefix}", FAST)
    for key, data in files.items():
        store.write_bytes(key, data, overwrite=True)


def _downloads(caplog: pytest.LogCaptureFixture) -> int:
    return sum(r.getMessage().startswith("downloading ") for r in caplog.records)


@pytest.fixture(autouse=True)
def _info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="glov.store.downloads")


def test_prefix_is_downloaded_once_and_served_from_cache(
    bucket: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _upload(bucket, "models/tiny", MODEL)
    uri = f"s3://{bucket}/models/tiny/"
    path = fetch_to_local(uri, tmp_path / "cache", 10**6)
    assert path.is_dir()
    got = {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    assert got == MODEL
    inode = (path / "config.json").stat().st_ino

    again = fetch_to_local(uri, tmp_path / "cache", 10**6)
    assert again == path
    assert (again / "config.json").stat().st_ino == inode  # the same file, not re-downloaded
    assert _downloads(caplog) == 1
    # Only the entry itself (plus lock files) is left: no temp dirs.
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if p.name[0] != ".") == [
        path.parent.name
    ]


def test_changed_remote_object_is_fetched_again(
    bucket: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    S3Store.from_uri(f"s3://{bucket}", FAST).write_bytes("ds/labels.txt", b"cat\ndog\n")
    first = fetch_to_local(f"s3://{bucket}/ds/labels.txt", tmp_path, 10**6)
    assert first.is_file() and first.name == "labels.txt"
    assert first.read_bytes() == b"cat\ndog\n"
    S3Store.from_uri(f"s3://{bucket}", FAST).write_bytes(
        "ds/labels.txt", b"cat\ndog\nbird\n", overwrite=True
    )
    second = fetch_to_local(f"s3://{bucket}/ds/labels.txt", tmp_path, 10**6)
    assert second != first
    assert second.read_bytes() == b"cat\ndog\nbird\n"
    assert _downloads(caplog) == 2


def test_least_recently_used_entries_are_evicted(bucket: str, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _upload(bucket, f"m/{name}", {"w.bin": name.encode() * 1000})
    cache = tmp_path / "cache"
    limit = 2500  # room for two 1000-byte entries, not three
    a = fetch_to_local(f"s3://{bucket}/m/a/", cache, limit)
    b = fetch_to_local(f"s3://{bucket}/m/b/", cache, limit)
    assert fetch_to_local(f"s3://{bucket}/m/a/", cache, limit) == a  # a is now the most recent
    c = fetch_to_local(f"s3://{bucket}/m/c/", cache, limit)
    assert a.is_dir() and c.is_dir()
    assert not b.exists(), "the least recently used entry should have been evicted"
    entries = [p for p in cache.iterdir() if (p / MANIFEST).is_file()]
    assert len(entries) == 2
    # An entry larger than the limit is still returned (and kept while it is in use).
    big = fetch_to_local(f"s3://{bucket}/m/a/", cache, 10)
    assert (big / "w.bin").read_bytes() == b"a" * 1000


def test_corrupt_object_is_not_cached(bucket: str, s3_env: S3Server, tmp_path: Path) -> None:
    wrong = {"glov-sha256": "0" * 64}
    s3_env.client().put_object(bucket, "bad/w.bin", io.BytesIO(b"xyz"), 3, metadata=wrong)
    with pytest.raises(CorruptObject):
        fetch_to_local(f"s3://{bucket}/bad/", tmp_path, 10**6)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
    assert not list(tmp_path.glob(".tmp-*"))


def test_foreign_objects_without_checksum_are_accepted(
    bucket: str, s3_env: S3Server, tmp_path: Path
) -> None:
    # Models uploaded with mc/aws-cli carry no glov checksum.
    s3_env.client().put_object(bucket, "hf/model.gguf", io.BytesIO(b"GGUF...."), 8)
    path = fetch_to_local(f"s3://{bucket}/hf/model.gguf", tmp_path, 10**6)
    assert path.read_bytes() == b"GGUF...."


def test_missing_uri_and_local_paths(bucket: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no object or prefix"):
        fetch_to_local(f"s3://{bucket}/nothing/here", tmp_path, 10**6)
    local = tmp_path / "local-model"
    local.mkdir()
    assert fetch_to_local(f"file://{local}", tmp_path / "cache", 1) == local
    assert fetch_to_local(str(local), tmp_path / "cache", 1) == local


def test_fetch_with_config_uses_cache_dir(bucket: str, tmp_path: Path) -> None:
    _upload(bucket, "cfg", {"x": b"1"})
    cfg = StoreConfig(cache_dir=str(tmp_path / "c"), cache_max_gib=0.001)
    path = fetch_with_config(f"s3://{bucket}/cfg/", cfg)
    assert path.is_relative_to(tmp_path / "c")
    assert (path / "x").read_bytes() == b"1"
