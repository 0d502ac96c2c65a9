"""An exclusive lock between processes on one machine (or one shared volume).

Two processes that need the same cache entry (kfp.local runs two arms at once;
a GGUF conversion, an s3:// download or a VLM build that is not cached yet)
must not both build it: the second waits for the first and then reuses its
result. The LLM, the VLM and the store's download cache all lock through here.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

from glov.os_errors import explain

log = logging.getLogger(__name__)


@contextlib.contextmanager
def exclusive(lock_path: Path, what: str, *, option: str | None = None) -> Iterator[None]:
    """Hold an flock on `lock_path` (created if missing) for the block.

    flock is released by the kernel when the holder dies, so a killed process
    never leaves a stale lock behind; the lock file itself stays (harmless).
    `what` names the work in log lines; `option` the setting that placed the
    lock's folder, which an error creating the lock file names (glov.os_errors).
    """
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fh = lock_path.open("a")
    except OSError as exc:
        raise (explain(exc, option) or exc) from None
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process to finish %s", what)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
