"""S3Store against a real S3 server (nanio on 127.0.0.1): integrity, errors, faults."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from pathlib import Path

import pytest

from glov.config.store_metrics_pipeline import StoreConfig
from glov.errors import GlovError
from glov.store import ObjectExists, StoreError, open_store
from glov.store.credentials import StoreConfigError
from glov.store.s3 import (
    SHA256_META,
    BucketMissing,
    CorruptObject,
    S3Store,
    StoreAuthError,
    StoreTLSError,
    StoreUnreachable,
)
from tests.servers.s3 import S3Server, free_port, running_s3_server, start_s3_server
from tests.store._config import FAST

MiB = 1024 * 1024


def test_open_store_dispatches_to_s3(bucket: str) -> None:
    store = open_store(f"s3://{bucket}/some/prefix")
    assert isinstance(store, S3Store)
    store.write_text("x", "1")
    assert store.uri == f"s3://{bucket}/some/prefix"
    assert S3Store.from_uri(f"s3://{bucket}", FAST).list() == ["some/prefix/x"]


def test_sha256_is_recorded_in_object_metadata(s3_store: S3Store, s3_env: S3Server) -> None:
    s3_store.write_bytes("a.json", b'{"a": 1}')
    st = s3_env.client().stat_object(s3_store.bucket, "runs/a.json")
    assert st.metadata[f"x-amz-meta-{SHA256_META}"] == hashlib.sha256(b'{"a": 1}').hexdigest()


def test_large_object_goes_multipart_and_round_trips(bucket: str, s3_env: S3Server) -> None:
    store = S3Store.from_uri(f"s3://{bucket}", FAST.model_copy(update={"part_size_mib": 5}))
    data = os.urandom(11 * MiB + 123)
    store.write_bytes("big/model.bin", data)
    st = s3_env.client().stat_object(bucket, "big/model.bin")
    assert st.etag.endswith("-3")  # a multipart etag: 3 parts of <= 5 MiB
    assert st.size == len(data)
    assert store.read_bytes("big/model.bin") == data
    store.write_bytes("big/model.bin", data)  # identical: no-op, even multipart


def test_object_tampered_on_disk_reads_as_corrupt(s3_store: S3Store, s3_env: S3Server) -> None:
    s3_store.write_bytes("step/0.json", b'{"accuracy": 0.5}')
    path = s3_env.object_path(s3_store.bucket, "runs/step/0.json")
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x01  # same length: the server itself cannot notice
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptObject, match="corrupt object") as info:
        s3_store.read_bytes("step/0.json")
    assert isinstance(info.value, StoreError)


def test_object_replaced_by_another_client_reads_as_corrupt(
    s3_store: S3Store, s3_env: S3Server
) -> None:
    s3_store.write_text("x.txt", "ours")
    client = s3_env.client()
    client.put_object(s3_store.bucket, "runs/x.txt", io.BytesIO(b"theirs"), 6)  # no metadata
    with pytest.raises(CorruptObject, match="no glov-sha256 checksum"):
        s3_store.read_text("x.txt")
    wrong = {SHA256_META: hashlib.sha256(b"ours").hexdigest()}
    client.put_object(s3_store.bucket, "runs/x.txt", io.BytesIO(b"theirs"), 6, metadata=wrong)
    with pytest.raises(CorruptObject, match="sha256 of its bytes"):
        s3_store.read_text("x.txt")
    # The caller's remedy: recompute and overwrite.
    s3_store.write_text("x.txt", "ours", overwrite=True)
    assert s3_store.read_text("x.txt") == "ours"


def test_concurrent_writers_of_one_key_leave_a_valid_object(bucket: str, s3_env: S3Server) -> None:
    cfg = FAST.model_copy(update={"part_size_mib": 5})
    data = os.urandom(6 * MiB)  # multipart: concurrent uploads of the same key
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer() -> None:
        store = S3Store.from_uri(f"s3://{bucket}/cache", cfg)  # one client per "pod"
        start.wait()
        try:
            store.write_bytes("features/abc123.npy", data)
        except BaseException as exc:  # collected: assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    store = S3Store.from_uri(f"s3://{bucket}/cache", cfg)
    assert store.read_bytes("features/abc123.npy") == data
    assert store.list() == ["features/abc123.npy"]
    with pytest.raises(ObjectExists):
        store.write_bytes("features/abc123.npy", data[:-1])


def test_wrong_secret_key_is_an_auth_error_and_not_retried(
    bucket: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bad_secret = "definitely-not-the-secret"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", bad_secret)
    slow = StoreConfig(retry_attempts=5, retry_base_seconds=1.0)  # retrying would take seconds
    store = S3Store.from_uri(f"s3://{bucket}", slow)
    for op in (lambda: store.write_text("k", "v"), store.list, lambda: store.read_bytes("k")):
        t0 = time.monotonic()
        with pytest.raises(StoreAuthError) as info:
            op()
        assert time.monotonic() - t0 < 1.0
        message = str(info.value)
        assert "credentials" in message and "AWS_SECRET_ACCESS_KEY" in message
        assert bad_secret not in message and bad_secret not in repr(store)
        assert isinstance(info.value, StoreError) and isinstance(info.value, GlovError)
    assert not [r for r in caplog.records if "retry" in r.getMessage()]


def test_wrong_access_key_is_an_auth_error(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    with pytest.raises(StoreAuthError, match="InvalidAccessKeyId"):
        S3Store.from_uri(f"s3://{bucket}", FAST).list()


def test_minio_variable_names_are_accepted(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIO_ACCESS_KEY", os.environ.pop("AWS_ACCESS_KEY_ID"))
    monkeypatch.setenv("MINIO_SECRET_KEY", os.environ.pop("AWS_SECRET_ACCESS_KEY"))
    store = S3Store.from_uri(f"s3://{bucket}", FAST)
    store.write_text("k", "v")
    assert store.read_text("k") == "v"


def test_missing_environment_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "GLOV_S3_ENDPOINT",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "MINIO_ACCESS_KEY",
        "MINIO_SECRET_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(StoreConfigError) as info:
        open_store("s3://glov/runs")
    message = str(info.value)
    for var in ("GLOV_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert var in message
    assert info.value.fix and "make run-s3" in info.value.fix


def test_missing_bucket_is_a_clear_error_or_created_on_request(s3_env: S3Server) -> None:
    with pytest.raises(BucketMissing, match="'no-such-bucket' does not exist") as info:
        S3Store.from_uri("s3://no-such-bucket/runs", FAST).write_text("k", "v")
    assert "create_bucket" in (info.value.fix or "")
    cfg = FAST.model_copy(update={"create_bucket": True})
    store = S3Store.from_uri("s3://made-on-demand/runs", cfg)
    store.write_text("k", "v")
    assert s3_env.client().bucket_exists("made-on-demand")
    assert S3Store.from_uri("s3://made-on-demand/runs", cfg).read_text("k") == "v"


def test_unreachable_endpoint_fails_after_bounded_retries(
    monkeypatch: pytest.MonkeyPatch, s3_env: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GLOV_S3_ENDPOINT", f"127.0.0.1:{free_port()}")  # nothing listens
    store = S3Store.from_uri("s3://glov/runs", FAST)
    t0 = time.monotonic()
    with pytest.raises(StoreUnreachable) as info:
        store.write_text("k", "v")
    assert time.monotonic() - t0 < 2.0
    message = str(info.value)
    assert "unreachable after 3 attempts" in message
    assert "check that it is running and GLOV_S3_ENDPOINT" in message
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2


def test_tls_with_custom_ca_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("cryptography")
    with running_s3_server(tmp_path, tls=True) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        server.make_bucket("tls")
        store = S3Store.from_uri("s3://tls/runs", FAST)
        store.write_text("k", "over https")
        assert store.read_text("k") == "over https"
        # Without the CA the certificate cannot be verified: a TLS error, not retried.
        monkeypatch.delenv("GLOV_S3_CA_BUNDLE")
        with pytest.raises(StoreTLSError) as info:
            S3Store.from_uri("s3://tls/runs", FAST).read_text("k")
        assert "GLOV_S3_CA_BUNDLE" in (info.value.fix or "")


def test_https_to_a_plain_http_server_names_the_secure_switch(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOV_S3_SECURE", "true")
    with pytest.raises(StoreTLSError) as info:
        S3Store.from_uri(f"s3://{bucket}", FAST).list()
    assert "GLOV_S3_SECURE=false" in (info.value.fix or "")


@pytest.mark.timeout(90)
def test_writes_ride_out_a_server_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Kill the server mid-sequence, restart it on the same port and root.

    Every write either succeeds (after retries) or fails with the clear
    unreachable error, and afterwards every listed object verifies.
    """
    server = start_s3_server(tmp_path / "root")
    try:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        server.make_bucket("fault")
        # 5-10 s of backoff in all: well beyond a restart, even on a loaded machine.
        cfg = StoreConfig(
            retry_attempts=15,
            retry_base_seconds=0.05,
            retry_max_seconds=1.0,
            timeout_seconds=5,
            part_size_mib=5,
        )
        store = S3Store.from_uri("s3://fault/run", cfg)
        payloads = {
            f"steps/{i:03d}.bin": os.urandom(6 * MiB) if i % 6 == 4 else f"step {i}\n".encode() * 50
            for i in range(36)
        }
        results: dict[str, object] = {}
        big_write_started = threading.Event()

        def writer() -> None:
            for i, (key, data) in enumerate(payloads.items()):
                if i == 10:  # a 6 MiB multipart write, after a few done
                    big_write_started.set()
                try:
                    store.write_bytes(key, data)
                    results[key] = "ok"
                except StoreUnreachable as exc:
                    results[key] = exc
                time.sleep(0.01)

        thread = threading.Thread(target=writer)
        thread.start()
        assert big_write_started.wait(30)
        time.sleep(0.05)  # into the upload
        server.kill()
        time.sleep(0.3)
        server.start()
        thread.join(60)
        assert not thread.is_alive()

        assert len(results) == len(payloads)
        for key, result in results.items():
            if result != "ok":
                assert "unreachable after 15 attempts" in str(result), key
                assert "GLOV_S3_ENDPOINT" in str(result)
        assert [r for r in caplog.records if "retry" in r.getMessage()], "no retry happened"
        assert any(results[k] == "ok" for k in list(payloads)[11:]), "nothing written after crash"

        fresh = S3Store.from_uri("s3://fault/run", cfg)
        listed = fresh.list()
        assert {k for k, r in results.items() if r == "ok"} <= set(listed)
        for key in listed:
            assert fresh.read_bytes(key) == payloads[key]  # CorruptObject if torn
    finally:
        server.stop()
