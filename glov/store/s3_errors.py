"""The s3 store's errors and how a failed request is classified.

Transient failures (refused or reset connections, timeouts, 5xx, SlowDown)
are retried; authentication and TLS failures are not, and each error class
says what to fix.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass

from minio.error import InvalidResponseError, S3Error, ServerError
from urllib3.exceptions import HTTPError, MaxRetryError, SSLError

from glov.errors import GlovError
from glov.store.base import StoreError

AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "InvalidToken",
        "ExpiredToken",
        "AuthorizationHeaderMalformed",
    }
)
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "SlowDownRead",
        "SlowDownWrite",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "OperationTimedOut",
        "XMinioServerNotInitialized",
    }
)
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchObject", "ResourceNotFound"})


class StoreUnreachable(StoreError, GlovError):
    """The object store did not answer (or kept failing) for every retry."""


class StoreAuthError(StoreError, GlovError):
    """The object store refused the credentials; retrying does not help."""


class StoreTLSError(StoreError, GlovError):
    """TLS to the object store failed (plain-http endpoint, unknown CA)."""


class BucketMissing(StoreError, GlovError):
    """The bucket of the s3:// URI does not exist."""


class CorruptObject(StoreError):
    """An object's bytes do not match the sha256 recorded when it was written.

    The caller may retry the read or recompute and rewrite the object.
    """


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the store's prefix
    size: int
    etag: str


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a client exception, if it has one."""
    if isinstance(exc, S3Error):
        return exc.code
    if isinstance(exc, InvalidResponseError):
        # Some servers send error XML as text/xml, which the client does not
        # parse; the code is still in the body.
        m = re.search(r"<Code>([^<]+)</Code>", str(exc))
        return m.group(1) if m else None
    return None


def _http_status(exc: BaseException) -> int | None:
    if isinstance(exc, S3Error):
        return exc.response.status if exc.response is not None else None
    if isinstance(exc, ServerError):
        return exc.status_code
    if isinstance(exc, InvalidResponseError):
        m = re.search(r"Response code: (\d+)", str(exc))
        return int(m.group(1)) if m else None
    return None


def _root_cause(exc: BaseException) -> BaseException:
    while isinstance(exc, MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    return exc


def is_tls_error(exc: BaseException) -> bool:
    exc = _root_cause(exc)
    return isinstance(exc, SSLError | ssl.SSLError)


def is_transient(exc: BaseException) -> bool:
    """True for failures that may go away by waiting: network, timeouts, 5xx, SlowDown."""
    exc = _root_cause(exc)
    if is_tls_error(exc):
        return False  # a certificate or http/https mismatch does not heal
    code = error_code(exc)
    if code in AUTH_CODES:
        return False
    if code in _TRANSIENT_CODES:
        return True
    status = _http_status(exc)
    if status is not None:
        return status >= 500 or status == 429
    # urllib3's HTTPError covers refused/reset connections, timeouts and
    # truncated bodies; the builtins cover errors raised outside urllib3.
    return isinstance(exc, HTTPError | ConnectionError | TimeoutError)


def describe(exc: BaseException) -> str:
    exc = _root_cause(exc)
    code = error_code(exc)
    if code:
        return code
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."
