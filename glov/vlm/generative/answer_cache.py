"""Content-keyed on-disk store of VLM answers: a prompt seen before costs no generation.

One small JSON file per (model, image, prompt, generation settings) key, under
`<root>/<key[:2]>/<key>.json`, written atomically; any number of processes
(pods on a shared volume, later runs) read and write it at once, and the same
key always holds the same answer, so concurrent writers are harmless. An
unreadable file counts as absent: a cache must not be able to break a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

# Bump when the way answers are produced changes, to orphan old entries.
ANSWER_VERSION = "glov-generative-answers/1"


def answer_key(model_id: str, image_digest: str, prompt: str, settings: dict) -> str:
    """The content key of one answer (settings: everything else that changes it)."""
    parts = [ANSWER_VERSION, model_id, image_digest, prompt, settings]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class AnswerCache:
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()

    def path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"invalid answer-cache key {key!r}")
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        path = self.path(key)
        try:
            record = json.loads(path.read_text())
            answer = record["answer"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("answer cache file %s is unreadable (%s); regenerating", path, exc)
            return None
        return answer if isinstance(answer, str) else None

    def put(self, key: str, answer: str, meta: dict | None = None) -> None:
        path = self.path(key)
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w") as fh:
                json.dump({"answer": answer, **(meta or {})}, fh)
            os.replace(tmp, path)
        except OSError as exc:  # a full or read-only volume costs regeneration, not the run
            log.warning("cannot write answer cache entry %s: %s", path, exc)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
