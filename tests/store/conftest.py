"""Fixtures: a real S3 server (nanio) and stores over it and over a local directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from glov.store.local import LocalStore
from glov.store.s3 import S3Store
from tests.servers.s3 import S3Server, running_s3_server
from tests.store._config import FAST


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One server for the session; each test gets its own bucket."""
    with running_s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    for var in ("MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "GLOV_S3_CA_BUNDLE", "GLOV_S3_REGION"):
        monkeypatch.delenv(var, raising=False)
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def bucket(s3_env: S3Server) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3_env.make_bucket(name)
    return name


@pytest.fixture
def s3_store(bucket: str) -> S3Store:
    return S3Store.from_uri(f"s3://{bucket}/runs", FAST)


@pytest.fixture(params=["local", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path):
    """The same behaviour checks run over both backends."""
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return request.getfixturevalue("s3_store")
