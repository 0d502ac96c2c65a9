"""The Content-Type an object is stored with, from its key's extension.

S3 serves an object with the type it was stored with; without one every object
is application/octet-stream and the MinIO console downloads report.md and
fitness.png instead of showing them.
"""

from __future__ import annotations

from pathlib import PurePosixPath

OCTET_STREAM = "application/octet-stream"
# What a run writes; anything else is served as bytes.
CONTENT_TYPES = {
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".jsonl": "application/x-ndjson",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
}


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), OCTET_STREAM)
