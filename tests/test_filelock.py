"""The one inter-process lock of the caches (glov/filelock.py)."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from glov.errors import GlovError
from glov.filelock import exclusive


def _hold(lock_path, held, release) -> None:
    with exclusive(lock_path, "holding"):
        held.set()
        release.wait(30)


def test_a_second_holder_waits_for_the_first(tmp_path):
    lock = tmp_path / "sub" / "x.lock"
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold, args=(lock, held, release))
    other.start()
    try:
        assert held.wait(60)
        released_at = None

        def let_go() -> None:
            nonlocal released_at
            time.sleep(0.5)
            released_at = time.monotonic()
            release.set()

        threading.Thread(target=let_go).start()
        with exclusive(lock, "waiting"):
            got_at = time.monotonic()
        assert released_at is not None and got_at >= released_at
    finally:
        release.set()
        other.join(30)


def test_a_lock_that_cannot_be_created_names_the_setting(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    lock = exclusive(blocker / "x.lock", "building the thing", option="run.cache_dir")
    with pytest.raises(GlovError) as err, lock:
        pass
    assert str(blocker) in err.value.problem
    assert "run.cache_dir" in err.value.fix
