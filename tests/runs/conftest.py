"""Fixtures of the run tests: a real S3 server for runs whose store is s3://glov/..."""

from __future__ import annotations

import pytest

from tests.servers.s3 import start_s3_server


@pytest.fixture
def server(tmp_path, monkeypatch):
    """nanio on 127.0.0.1 with bucket `glov`, its settings in the environment."""
    srv = start_s3_server(tmp_path / "s3")
    for name, value in srv.env().items():
        monkeypatch.setenv(name, value)
    srv.make_bucket("glov")
    yield srv
    srv.stop()
