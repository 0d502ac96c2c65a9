"""An exclusive lock between processes on one machine (or one shared volume).

Two tasks that need the same cache entry (kfp.local runs two arms at once, and
each converts the GGUF file when nothing is cached yet) must not both build
it: the second waits for the first and then reuses its result.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


@contextlib.contextmanager
def exclusive(lock_path: Path, what: str) -> Iterator[None]:
    """Hold an flock on `lock_path` (created if missing) for the block.

    flock is released by the kernel when the holder dies, so a killed task
    never leaves a stale lock behind; the lock file itself stays (harmless).
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process to finish %s", what)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
