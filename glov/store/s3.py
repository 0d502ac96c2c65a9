"""s3:// store: runs and caches in MinIO (or any S3-compatible object store).

Guarantees, on top of what S3 gives:
- Atomic writes come from S3 itself: a PUT, and a multipart upload on
  completion, replaces the object whole, never partly.
- Every object carries the sha256 of its bytes in its user metadata, and every
  read verifies it: a torn, tampered or foreign object raises CorruptObject
  instead of feeding bad bytes to a step.
- overwrite=False compares checksums: identical bytes are a no-op (a retried
  step, or two pods filling the same content-keyed cache entry), different
  bytes raise ObjectExists.
- Every request is retried on transient failures (retry.py); authentication
  and TLS failures are not, and get an error that says what to fix.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from urllib3.exceptions import HTTPError

from glov.config.store_metrics_pipeline import StoreConfig
from glov.digests import sha256_file
from glov.store.base import ObjectExists, Store, StoreError
from glov.store.content_types import content_type
from glov.store.credentials import (
    ACCESS_KEY_VARS,
    CA_BUNDLE_VAR,
    ENDPOINT_VAR,
    SECRET_KEY_VARS,
    SECURE_VAR,
    S3Settings,
)
from glov.store.retry import RetryExhausted, retry
from glov.store.s3_errors import (
    AUTH_CODES,
    NOT_FOUND_CODES,
    BucketMissing,
    CorruptObject,
    ObjectInfo,
    StoreAuthError,
    StoreTLSError,
    StoreUnreachable,
    describe,
    error_code,
    is_tls_error,
    is_transient,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# User-metadata key of the content checksum (sent as x-amz-meta-glov-sha256).
SHA256_META = "glov-sha256"
_SHA256_HEADER = "x-amz-meta-" + SHA256_META


class S3Store(Store):
    """A Store over one bucket (and optional key prefix) of an S3-compatible server."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        settings: S3Settings,
        config: StoreConfig | None = None,
    ):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.settings = settings
        self.config = config or StoreConfig()
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._client = Minio(
            settings.endpoint,
            credentials=settings.credentials,
            secure=settings.secure,
            region=settings.region,
            http_client=_http_client(settings, self.config.timeout_seconds),
        )
        self._bucket_checked = False

    @classmethod
    def from_uri(cls, uri: str, config: StoreConfig | None = None) -> S3Store:
        """Open `s3://BUCKET[/PREFIX]` with endpoint and credentials from the environment."""
        bucket, prefix = parse_s3_uri(uri)
        return cls(bucket, prefix, settings=S3Settings.from_env(), config=config)

    def __repr__(self) -> str:
        return f"S3Store(uri={self.uri!r}, endpoint={self.settings.endpoint!r})"

    # -- keys ---------------------------------------------------------------

    def _name(self, key: str) -> str:
        """Object name of a store key; rejects keys that are not canonical paths."""
        key = key.strip("/")
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"key {key!r} is not a relative path inside the store")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _url(self, name: str) -> str:
        return f"s3://{self.bucket}/{name}"

    # -- the one path every request takes -----------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one request with retries, and turn client errors into StoreErrors."""
        if not self._bucket_checked and self.config.create_bucket:
            self._ensure_bucket()
        cfg = self.config

        def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
            log.warning(
                "object store %s: %s failed (%s); retry %d/%d in %.2fs",
                self.settings.endpoint,
                what,
                describe(exc),
                attempt,
                cfg.retry_attempts - 1,
                delay,
            )

        try:
            return retry(
                fn,
                cfg.retry_attempts,
                cfg.retry_base_seconds,
                cfg.retry_max_seconds,
                is_transient,
                on_retry=on_retry,
            )
        except RetryExhausted as exc:
            raise StoreUnreachable(
                f"object store at {self.settings.endpoint} unreachable after "
                f"{exc.attempts} attempts ({what}): {describe(exc.cause)}",
                f"check that it is running and {ENDPOINT_VAR}",
            ) from exc.cause
        except MinioException as exc:
            raise self._translate(what, exc) from exc
        except HTTPError as exc:
            if is_tls_error(exc):
                raise self._tls_error(what, exc) from exc
            raise StoreError(f"{what} failed: {describe(exc)}") from exc

    def _translate(self, what: str, exc: MinioException) -> Exception:
        code = error_code(exc)
        if code in AUTH_CODES:
            return StoreAuthError(
                f"object store at {self.settings.endpoint} refused the credentials "
                f"({code}, from {self.settings.source}) for {what}",
                f"check the access key and secret key in {' / '.join(ACCESS_KEY_VARS)} and "
                f"{' / '.join(SECRET_KEY_VARS)} (on the cluster: the Kubernetes Secret), "
                f"and that this user may access bucket {self.bucket!r}",
            )
        if code == "NoSuchBucket":
            return BucketMissing(
                f"bucket {self.bucket!r} does not exist on {self.settings.endpoint}",
                "create it (e.g. in the MinIO console), fix the bucket in the s3:// URI, "
                "or set store.create_bucket: true",
            )
        if code in NOT_FOUND_CODES:
            return FileNotFoundError(f"{what}: no such object")
        return StoreError(f"{what} failed on {self.settings.endpoint}: {describe(exc)}")

    def _tls_error(self, what: str, exc: BaseException) -> StoreTLSError:
        return StoreTLSError(
            f"TLS to the object store at {self.settings.endpoint} failed ({what}): {describe(exc)}",
            f"if the endpoint serves plain http set {SECURE_VAR}=false; if its certificate "
            f"is signed by a private CA, point {CA_BUNDLE_VAR} at that CA's PEM file",
        )

    def _ensure_bucket(self) -> None:
        self._bucket_checked = True  # set first: the _call()s below must not recurse
        try:
            if not self._call("check bucket", lambda: self._client.bucket_exists(self.bucket)):
                log.info("creating bucket %s on %s", self.bucket, self.settings.endpoint)
                self._call("create bucket", lambda: self._client.make_bucket(self.bucket))
        except StoreError as exc:
            if any(code in str(exc) for code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")):
                return  # another pod created it in between
            self._bucket_checked = False  # check again on the next call
            raise

    # -- Store interface ----------------------------------------------------

    def read_bytes(self, key: str) -> bytes:
        name = self._name(key)

        def get() -> tuple[bytes, str | None]:
            resp = self._client.get_object(self.bucket, name)
            try:
                return resp.read(), resp.headers.get(_SHA256_HEADER)
            finally:
                resp.close()
                resp.release_conn()

        data, expected = self._call(f"read {self._url(name)}", get)
        verify_sha256(self._url(name), data, expected)
        return data

    def write_bytes(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        name = self._name(key)
        digest = hashlib.sha256(data).hexdigest()
        if not overwrite and self._holds(name, digest):
            return
        # A fresh stream per attempt: a failed attempt has consumed the last one.
        self._call(
            f"write {self._url(name)}", lambda: self._put(name, io.BytesIO(data), len(data), digest)
        )

    def upload(self, key: str, path: Path, *, overwrite: bool = False) -> None:
        """Stream a file up in parts: a converted model never has to fit in memory."""
        name = self._name(key)
        digest = sha256_file(path)
        if not overwrite and self._holds(name, digest):
            return
        size = path.stat().st_size

        def put() -> None:
            with path.open("rb") as fh:  # reopened per attempt, from the first byte
                self._put(name, fh, size, digest)

        self._call(f"upload {self._url(name)}", put)

    def _holds(self, name: str, digest: str) -> bool:
        """True if `name` already holds these bytes; ObjectExists if it holds others."""
        existing = self._stored_sha256(name)
        if existing is None:
            return False
        if existing == digest:
            return True  # an idempotent retry, or a second writer of the same content
        raise ObjectExists(f"{self._url(name)} exists with different content")

    def _put(self, name: str, stream: BinaryIO, size: int, digest: str) -> None:
        self._client.put_object(
            self.bucket,
            name,
            stream,
            size,
            content_type=content_type(name),
            metadata={SHA256_META: digest},
            part_size=self.config.part_size_mib * 1024 * 1024,
            # Parts in order, one at a time: bounded memory on both ends.
            num_parallel_uploads=1,
        )

    def append_line(self, key: str, line: str) -> None:
        # Read-extend-republish (S3 has no append). One writer per key: two pods
        # appending to the same log at once could lose a line.
        try:
            old = self.read_bytes(key)
        except FileNotFoundError:
            old = b""
        self.write_bytes(key, old + line.rstrip("\n").encode() + b"\n", overwrite=True)

    def exists(self, key: str) -> bool:
        return self._stored_sha256(self._name(key)) is not None

    def list(self, prefix: str = "") -> list[str]:
        return [o.key for o in self.list_info(prefix)]

    def list_info(self, prefix: str = "") -> list[ObjectInfo]:
        """Objects under `prefix` (a key or a "directory"), with size and etag, sorted."""
        base = self._name(prefix) if prefix.strip("/") else self.prefix
        cut = len(self.prefix) + 1 if self.prefix else 0

        def listing() -> list[ObjectInfo]:
            found = []
            for obj in self._client.list_objects(self.bucket, prefix=base, recursive=True):
                name = obj.object_name or ""
                # "runs/a" must not list "runs/ab/...": match whole path segments.
                if base and name != base and not name.startswith(base + "/"):
                    continue
                found.append(ObjectInfo(name[cut:], obj.size or 0, (obj.etag or "").strip('"')))
            return found

        return sorted(self._call(f"list {self._url(base)}", listing), key=lambda o: o.key)

    def delete(self, key: str) -> None:
        name = self._name(key)
        self._call(
            f"delete {self._url(name)}", lambda: self._client.remove_object(self.bucket, name)
        )

    # -- helpers for downloads ----------------------------------------------

    def _stored_sha256(self, name: str) -> str | None:
        """The recorded checksum; None if absent, "" if the object has none."""

        def stat() -> str | None:
            try:
                st = self._client.stat_object(self.bucket, name)
            except S3Error as exc:
                if exc.code in NOT_FOUND_CODES:
                    return None
                raise
            return (st.metadata or {}).get(_SHA256_HEADER, "")

        return self._call(f"stat {self._url(name)}", stat)

    def download(self, key: str, dest: Path, *, require_checksum: bool = True) -> int:
        """Stream one object to `dest` (not atomic: the caller owns the temp dir).

        Verifies the recorded sha256; objects uploaded by other tools carry
        none, so `require_checksum=False` accepts them on a size check alone.
        Returns the number of bytes written.
        """
        name = self._name(key)
        dest.parent.mkdir(parents=True, exist_ok=True)

        def fetch() -> tuple[int, str, str | None, int | None]:
            resp = self._client.get_object(self.bucket, name)
            h = hashlib.sha256()
            n = 0
            try:
                with dest.open("wb") as fh:
                    for chunk in resp.stream(1024 * 1024):
                        fh.write(chunk)
                        h.update(chunk)
                        n += len(chunk)
                length = resp.headers.get("content-length")
                return n, h.hexdigest(), resp.headers.get(_SHA256_HEADER), _int(length)
            finally:
                resp.close()
                resp.release_conn()

        n, digest, expected, length = self._call(f"download {self._url(name)}", fetch)
        if length is not None and n != length:
            raise CorruptObject(f"corrupt object {self._url(name)}: got {n} of {length} bytes")
        if expected or require_checksum:
            verify_sha256(self._url(name), digest, expected)
        return n


def verify_sha256(url: str, data: bytes | str, expected: str | None) -> None:
    """Raise CorruptObject unless `data` (bytes, or their hex sha256) matches `expected`."""
    if not expected:
        raise CorruptObject(
            f"corrupt object {url}: it has no {SHA256_META} checksum in its metadata "
            "(written by another tool, or not by glov)"
        )
    actual = data if isinstance(data, str) else hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise CorruptObject(
            f"corrupt object {url}: sha256 of its bytes is {actual[:16]}..., "
            f"its metadata records {expected[:16]}...; delete and recompute it"
        )


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise StoreError(
            f"{uri!r}: {bucket!r} is not a valid bucket name (3-63 characters: a-z 0-9 . -)"
        )
    return bucket, prefix.strip("/")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _http_client(settings: S3Settings, timeout: float) -> urllib3.PoolManager:
    """The client's connection pool: our timeouts, our CA, and no retries of its own.

    urllib3 retrying underneath would multiply with retry.py and hide how long
    a call can take; every retry decision is made in one place instead.
    """
    kwargs: dict[str, object] = {}
    if settings.secure:
        kwargs["cert_reqs"] = "CERT_REQUIRED"
        if settings.ca_bundle is not None:
            kwargs["ca_certs"] = str(settings.ca_bundle)
        else:
            import certifi

            kwargs["ca_certs"] = certifi.where()
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(timeout, 10.0), read=timeout),
        maxsize=10,
        retries=False,
        **kwargs,
    )
