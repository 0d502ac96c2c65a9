"""Objects are stored with a Content-Type from their extension (checked on the real server)."""

from __future__ import annotations

import pytest

from glov.store.s3 import S3Store
from tests.servers.s3 import S3Server

EXPECTED = {
    "r/report.md": "text/markdown; charset=utf-8",
    "r/report.json": "application/json",
    "r/fitness.png": "image/png",
    "r/config.yaml": "application/yaml",
    "r/arms/a/steps.jsonl": "application/x-ndjson",
    "r/features/x.pt": "application/octet-stream",
}


@pytest.mark.parametrize("key", EXPECTED)
def test_written_object_has_its_content_type(
    key: str, s3_store: S3Store, s3_env: S3Server, bucket: str
) -> None:
    if key.endswith(".jsonl"):
        s3_store.append_line(key, '{"step": 0}')
        s3_store.append_line(key, '{"step": 1}')  # a republished object keeps its type
    else:
        s3_store.write_bytes(key, b"content")
    stat = s3_env.client().stat_object(bucket, f"runs/{key}")
    assert stat.content_type == EXPECTED[key]
