"""Object-store endpoint and credentials, from the environment.

The endpoint comes from environment variables. Credentials come from the first
of these sources that is configured, in the AWS SDKs' order (CREDENTIAL_SOURCES):

1. keys in the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, with
   AWS_SESSION_TOKEN for temporary keys (or MINIO_ACCESS_KEY + MINIO_SECRET_KEY);
2. web identity (IRSA on EKS, or MinIO's AssumeRoleWithWebIdentity):
   AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, exchanged at AWS STS or at
   AWS_ENDPOINT_URL_STS, and renewed before they expire;
3. the AWS credentials file: AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
   profile AWS_PROFILE or `default` (re-read on every request, so a rotated
   file is picked up).

On the cluster a Kubernetes Secret fills the keys (kfp-kubernetes
`use_secret_as_env`), so nothing secret ever appears in a pipeline spec, a
config file or a run directory. Secrets are kept out of repr() and out of
every error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from minio.credentials import AWSConfigProvider, IamAwsProvider, StaticProvider
from minio.credentials.credentials import Credentials
from minio.credentials.providers import ChainedProvider, Provider

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
SESSION_TOKEN_VAR = "AWS_SESSION_TOKEN"
WEB_IDENTITY_TOKEN_VAR = "AWS_WEB_IDENTITY_TOKEN_FILE"
ROLE_ARN_VAR = "AWS_ROLE_ARN"
STS_ENDPOINT_VAR = "AWS_ENDPOINT_URL_STS"
SHARED_CREDENTIALS_VAR = "AWS_SHARED_CREDENTIALS_FILE"
PROFILE_VAR = "AWS_PROFILE"
CREDENTIAL_SOURCES = (
    f"{ACCESS_KEY_VARS[0]} + {SECRET_KEY_VARS[0]} [+ {SESSION_TOKEN_VAR}] "
    f"(or {ACCESS_KEY_VARS[1]} + {SECRET_KEY_VARS[1]})",
    f"{WEB_IDENTITY_TOKEN_VAR} + {ROLE_ARN_VAR} [+ {STS_ENDPOINT_VAR}]",
    f"${SHARED_CREDENTIALS_VAR} or ~/.aws/credentials (profile ${PROFILE_VAR} or default)",
)
# The settings a process is handed as values (the file-based sources also need
# their files): what a task container started by this machine is given.
VALUE_VARS = (
    ENDPOINT_VAR,
    ENDPOINT_FALLBACK_VAR,
    SECURE_VAR,
    CA_BUNDLE_VAR,
    REGION_VAR,
    *ACCESS_KEY_VARS,
    *SECRET_KEY_VARS,
    SESSION_TOKEN_VAR,
)
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
    # minio's credential provider: asked before every request (temporary keys renew).
    credentials: Provider = field(repr=False, compare=False)
    # Where the credentials come from, for messages; never a secret.
    source: str = "environment"
    secure: bool = False
    region: str = DEFAULT_REGION
    ca_bundle: Path | None = None

    def __repr__(self) -> str:  # explicit, so a future field cannot leak a secret
        return (
            f"S3Settings(endpoint={self.endpoint!r}, source={self.source!r}, "
            f"secure={self.secure}, region={self.region!r}, ca_bundle={self.ca_bundle!r})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        """Read the settings; a clear StoreConfigError names any missing variable."""
        env = os.environ if env is None else env
        raw_endpoint = (env.get(ENDPOINT_VAR) or env.get(ENDPOINT_FALLBACK_VAR) or "").strip()
        missing = [] if raw_endpoint else [ENDPOINT_VAR]
        providers, sources, missing_keys = _credential_sources(env)
        if missing_keys or not providers:
            missing += missing_keys or [
                f"credentials: {ACCESS_KEY_VARS[0]} and {SECRET_KEY_VARS[0]}, or "
                + " or ".join(CREDENTIAL_SOURCES[1:])
            ]
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
        chain = _Chain(providers, sources)
        return cls(endpoint, chain, ", then ".join(sources), secure, region, ca_bundle)


class _Chain(ChainedProvider):
    """minio's chain (first source that yields keys wins), failing with a fix."""

    def __init__(self, providers: list[Provider], sources: list[str]):
        super().__init__(providers)
        self.sources = sources

    def retrieve(self) -> Credentials:
        try:
            return super().retrieve()
        except ValueError as exc:  # minio's "no credentials here" from every source
            raise StoreConfigError(
                f"no object-store credentials from {', '.join(self.sources)} ({exc})",
                "check the credentials file's profile, or the web identity token file "
                f"and role; sources, in order: {'; '.join(CREDENTIAL_SOURCES)}",
            ) from None


def _credential_sources(env: Mapping[str, str]) -> tuple[list[Provider], list[str], list[str]]:
    """(providers, their descriptions, variables missing for a half-set key pair)."""
    providers: list[Provider] = []
    sources: list[str] = []
    access_key, secret_key = _first(env, ACCESS_KEY_VARS), _first(env, SECRET_KEY_VARS)
    if access_key and secret_key:
        token = env.get(SESSION_TOKEN_VAR, "").strip() or None
        providers.append(StaticProvider(access_key, secret_key, token))
        sources.append("environment keys" + (" with session token" if token else ""))
    elif access_key or secret_key:  # half a pair is a mistake, not "use the next source"
        return [], [], [" or ".join(SECRET_KEY_VARS if access_key else ACCESS_KEY_VARS)]
    token_file, role_arn = env.get(WEB_IDENTITY_TOKEN_VAR, ""), env.get(ROLE_ARN_VAR, "")
    if token_file.strip() and role_arn.strip():
        providers.append(
            IamAwsProvider(
                custom_endpoint=env.get(STS_ENDPOINT_VAR) or None,
                token_file=token_file.strip(),
                role_arn=role_arn.strip(),
                role_session_name=env.get("AWS_ROLE_SESSION_NAME") or None,
                region=env.get("AWS_REGION") or None,
            )
        )
        sources.append(f"web identity ({role_arn.strip()})")
    home = env.get("HOME", "")
    default_file = Path(home) / ".aws" / "credentials" if home else None
    shared = (
        Path(env[SHARED_CREDENTIALS_VAR]).expanduser()
        if env.get(SHARED_CREDENTIALS_VAR)
        else default_file
    )
    if shared is not None and shared.is_file():
        profile = env.get(PROFILE_VAR, "").strip() or "default"
        providers.append(AWSConfigProvider(str(shared), profile))
        sources.append(f"{shared} [{profile}]")
    return providers, sources, []


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
