"""Object-store endpoint and credentials, read from environment variables.

On the cluster a Kubernetes Secret fills these (kfp-kubernetes
`use_secret_as_env`), so nothing secret ever appears in a pipeline spec, a
config file or a run directory. The secret key is kept out of repr() and out
of every error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from glov.errors import GlovError
from glov.store.base import StoreError

ENDPOINT_VAR = "GLOV_S3_ENDPOINT"
# The AWS SDKs' standard name (with scheme), as the cluster ConfigMap sets it.
ENDPOINT_FALLBACK_VAR = "AWS_ENDPOINT_URL"
SECURE_VAR = "GLOV_S3_SECURE"
CA_BUNDLE_VAR = "GLOV_S3_CA_BUNDLE"
REGION_VAR = "GLOV_S3_REGION"
# AWS names first (what most Secrets use); MinIO's own names are accepted too.
ACCESS_KEY_VARS = ("AWS_ACCESS_KEY_ID", "MINIO_ACCESS_KEY")
SECRET_KEY_VARS = ("AWS_SECRET_ACCESS_KEY", "MINIO_SECRET_KEY")
# A fixed default region means the client never has to ask the server for the
# bucket's location (one request fewer, and no GetBucketLocation permission needed).
DEFAULT_REGION = "us-east-1"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class StoreConfigError(StoreError, GlovError):
    """The object-store settings in the environment are missing or malformed."""


@dataclass(frozen=True)
class S3Settings:
    endpoint: str  # host:port, no scheme
    access_key: str
    secret_key: str = field(repr=False)
    secure: bool = False
    region: str = DEFAULT_REGION
    ca_bundle: Path | None = None

    def __repr__(self) -> str:  # explicit, so a future field cannot leak the secret
        return (
            f"S3Settings(endpoint={self.endpoint!r}, access_key={self.access_key!r}, "
            f"secret_key='***', secure={self.secure}, region={self.region!r}, "
            f"ca_bundle={self.ca_bundle!r})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        """Read the settings; a clear StoreConfigError names any missing variable."""
        env = os.environ if env is None else env
        raw_endpoint = (env.get(ENDPOINT_VAR) or env.get(ENDPOINT_FALLBACK_VAR) or "").strip()
        access_key = _first(env, ACCESS_KEY_VARS)
        secret_key = _first(env, SECRET_KEY_VARS)
        missing = []
        if not raw_endpoint:
            missing.append(ENDPOINT_VAR)
        if not access_key:
            missing.append(" or ".join(ACCESS_KEY_VARS))
        if not secret_key:
            missing.append(" or ".join(SECRET_KEY_VARS))
        if missing:
            raise StoreConfigError(
                "s3:// store needs object-store settings from the environment; "
                f"not set: {', '.join(missing)}",
                f"set them (on the cluster: a Kubernetes Secret mounted with "
                f"use_secret_as_env); for a local server run `make run-s3` and export "
                f"what it prints. {ENDPOINT_VAR} is host:port of the S3/MinIO endpoint",
            )
        endpoint, scheme_secure = _split_endpoint(raw_endpoint)
        secure = _parse_bool(env.get(SECURE_VAR), default=scheme_secure)
        ca_bundle = _ca_bundle(env.get(CA_BUNDLE_VAR, "").strip())
        region = env.get(REGION_VAR, "").strip() or DEFAULT_REGION
        return cls(endpoint, access_key, secret_key, secure, region, ca_bundle)


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def _split_endpoint(raw: str) -> tuple[str, bool]:
    """host:port and whether the scheme (if any) asked for TLS."""
    secure = False
    for scheme, is_tls in (("https://", True), ("http://", False)):
        if raw.lower().startswith(scheme):
            raw, secure = raw[len(scheme) :], is_tls
    raw = raw.rstrip("/")
    if not raw or "/" in raw or "@" in raw:
        raise StoreConfigError(
            f"{ENDPOINT_VAR}={raw!r} is not host:port",
            f"set {ENDPOINT_VAR} to the endpoint only, e.g. minio-service.kubeflow:9000 "
            f"(no bucket or path; the bucket goes in the s3:// URI)",
        )
    return raw, secure


def _parse_bool(value: str | None, *, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise StoreConfigError(
        f"{SECURE_VAR}={value!r} is not a boolean", f"set {SECURE_VAR} to true or false"
    )


def _ca_bundle(value: str) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise StoreConfigError(
            f"{CA_BUNDLE_VAR}={value} is not a readable file",
            f"point {CA_BUNDLE_VAR} at the PEM file of the CA that signed the object "
            "store's certificate (mount it from a Secret or ConfigMap), or unset it",
        )
    return path
