"""Endpoint and credentials from environment variables (what a Kubernetes Secret sets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glov.errors import GlovError
from glov.store import StoreError
from glov.store.credentials import S3Settings, StoreConfigError

BASE = {
    "GLOV_S3_ENDPOINT": "minio-service.kubeflow:9000",
    "AWS_ACCESS_KEY_ID": "minio",
    "AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
}


def test_defaults_plain_http_and_us_east_1() -> None:
    s = S3Settings.from_env(BASE)
    keys = s.credentials.retrieve()
    assert (s.endpoint, keys.access_key, keys.secret_key, keys.session_token) == (
        "minio-service.kubeflow:9000",
        "minio",
        "s3cr3t-value",
        None,
    )
    assert s.secure is False and s.region == "us-east-1" and s.ca_bundle is None


def test_secret_never_in_repr() -> None:
    s = S3Settings.from_env(BASE)
    assert "s3cr3t-value" not in repr(s) and "s3cr3t-value" not in str(s)


@pytest.mark.parametrize(
    ("endpoint", "secure_var", "expected"),
    [
        ("https://minio.example:443", None, ("minio.example:443", True)),
        ("http://minio:9000/", None, ("minio:9000", False)),
        ("minio:9000", "true", ("minio:9000", True)),
        ("https://minio:9000", "false", ("minio:9000", False)),
    ],
)
def test_endpoint_scheme_and_secure_flag(endpoint: str, secure_var: str | None, expected) -> None:
    env = dict(BASE, GLOV_S3_ENDPOINT=endpoint)
    if secure_var is not None:
        env["GLOV_S3_SECURE"] = secure_var
    s = S3Settings.from_env(env)
    assert (s.endpoint, s.secure) == expected


def test_minio_names_are_a_fallback() -> None:
    env = {"GLOV_S3_ENDPOINT": "m:9000", "MINIO_ACCESS_KEY": "ak", "MINIO_SECRET_KEY": "sk"}
    keys = S3Settings.from_env(env).credentials.retrieve()
    assert (keys.access_key, keys.secret_key) == ("ak", "sk")


def test_each_missing_variable_is_named() -> None:
    with pytest.raises(StoreConfigError) as info:
        S3Settings.from_env({"AWS_ACCESS_KEY_ID": "x"})
    message = str(info.value)
    assert "GLOV_S3_ENDPOINT" in message and "AWS_SECRET_ACCESS_KEY or MINIO_SECRET_KEY" in message
    assert "AWS_ACCESS_KEY_ID or" not in message  # that one is set
    assert isinstance(info.value, GlovError) and isinstance(info.value, StoreError)


@pytest.mark.parametrize(
    ("var", "value", "needle"),
    [
        ("GLOV_S3_SECURE", "maybe", "true or false"),
        ("GLOV_S3_ENDPOINT", "minio:9000/bucket", "host:port"),
        ("GLOV_S3_CA_BUNDLE", "/nonexistent/ca.pem", "PEM file"),
    ],
)
def test_malformed_values_are_explained(var: str, value: str, needle: str) -> None:
    with pytest.raises(StoreConfigError) as info:
        S3Settings.from_env(dict(BASE, **{var: value}))
    assert needle in str(info.value)


def test_ca_bundle_and_region(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = S3Settings.from_env(dict(BASE, GLOV_S3_CA_BUNDLE=str(ca), GLOV_S3_REGION="eu-west-1"))
    assert s.ca_bundle == ca and s.region == "eu-west-1"
