"""A run directory in a store: config, data description, per-arm step logs, report.

Layout (keys relative to the run's prefix):
    config.yaml                 the validated config the run was created with
    run.json                    run id, profile, created time, random-weights flag
    data.json                   dataset name, description, class names, splits
    arms/<arm>/steps.jsonl      one JSON record per finished step (append-only)
    report.json / report.md / fitness.png

An existing run is never overwritten: creating one that exists needs `resume`
(continue after the last complete step) or `force` (delete it first).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Literal

from glov.config import GlovConfig, StoreConfig, config_to_yaml, validate_config
from glov.config.keys import flatten
from glov.errors import ConfigError, RunDirError
from glov.file_syntax import decode_utf8, parse_json, parse_yaml
from glov.os_errors import check_creatable
from glov.runs.step_log import StepLog, parse_step_log
from glov.store import Store, open_store

# Keys that may differ between a run and its resumption: they change how far
# or how visibly it runs, not what a finished step means.
RESUMABLE_CHANGES = {
    "search.steps",
    "run.progress",
    "run.cache_dir",  # a laptop's cache path differs from a pod's
    "profile",
    "metrics",
    "pipeline",
    "store",
}


# How a run is opened: "new" must not exist yet, "resume" must exist, "replace"
# deletes an existing one first, "reuse" creates or reopens (pipeline tasks: a
# retried task or a re-run pipeline continues the same run).
OpenMode = Literal["new", "resume", "replace", "reuse"]
# What makes a folder a run: the config it was created with.
CONFIG_KEY = "config.yaml"
# What to do about a run record that does not parse, by key ({run}: the run directory).
RECORD_FIXES = {
    CONFIG_KEY: "restore config.yaml from a backup: the run cannot be resumed or reported "
    "without the settings it was created with",
    "run.json": "restore run.json from a backup, or move it away: it only names the run's id, "
    "profile and creation time",
    "data.json": "restore data.json from a backup, or start the run again with --force: its "
    "steps were scored on the splits it names",
    "report.json": "write the report again from the step records: glov report {run}",
}
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def open_mode(*, resume: bool, force: bool) -> OpenMode:
    """The mode the CLI flags ask for (--force wins over --resume)."""
    return "replace" if force else "resume" if resume else "new"


def default_run_id(name: str, token: str | None = None) -> str:
    """`<run.name>-<token>`; without a token, the local time (`glov-20261130-201408`)."""
    return f"{name}-{token or time.strftime('%Y%m%d-%H%M%S')}"


def check_run_id(run_id: str) -> str:
    if not RUN_ID_PATTERN.match(run_id):
        raise RunDirError(
            f"run id {run_id!r} is not a valid run directory name",
            "use letters, digits, '.', '_' and '-' (at most 128 characters)",
        )
    return run_id


def config_differences(old: GlovConfig, new: GlovConfig) -> list[str]:
    a, b = flatten(old.model_dump(mode="json")), flatten(new.model_dump(mode="json"))
    diffs = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        if key in RESUMABLE_CHANGES or key.split(".")[0] in RESUMABLE_CHANGES:
            continue
        diffs.append(f"{key}: {a.get(key)!r} -> {b.get(key)!r}")
    return diffs


def _check_writable(run: RunDir) -> None:
    """A local run directory must be creatable and writable, checked before any write.

    Otherwise the first write (config.yaml, or a step after hours of work on
    resume) fails. The OSError names the part in the way; the command line
    turns it into a message naming --run-dir or store.uri. Remote stores
    answer for themselves.
    """
    path = run.store.local_path("")
    if path is not None:
        check_creatable(path, "dir")


class RunDir:
    def __init__(self, store: Store, run_id: str):
        self.store = store
        self.run_id = run_id

    @property
    def uri(self) -> str:
        return self.store.uri

    # -- creation ---------------------------------------------------------
    @classmethod
    def claim(
        cls,
        root: str,
        run_id: str,
        mode: OpenMode,
        store: StoreConfig | None = None,
        *,
        check_only: bool = False,
    ) -> tuple[RunDir, bool]:
        """The run directory `root/run_id`, checked against `mode`; whether it holds a run.

        Checks run before anything is created; "replace" then deletes what is
        there, unless `check_only` (the validation pass before a run starts).
        """
        run = cls(open_store(root, store).child(check_run_id(run_id)), run_id)
        _check_writable(run)
        exists = run.store.exists(CONFIG_KEY)
        if mode == "replace":
            if not check_only:
                for key in run.store.list():
                    run.store.delete(key)
            return run, False
        if exists and mode == "new":
            raise RunDirError(
                f"run directory {run.uri} already exists",
                "pass --resume to continue it (finished steps are reused), --force to replace "
                "it, or choose another --run-dir",
            )
        if not exists and mode == "resume":
            raise RunDirError(
                f"there is no run to resume at {run.uri}",
                "check the run id and store.uri, or drop --resume to start a new run",
            )
        if not exists and run.store.list():
            raise RunDirError(
                f"{run.uri} is not empty and is not a GLOV run",
                "choose another --run-dir, or pass --force to replace its contents",
            )
        return run, exists

    @classmethod
    def open(
        cls, root: str, run_id: str, cfg: GlovConfig, mode: OpenMode = "new"
    ) -> tuple[RunDir, GlovConfig]:
        """Create the run, or reopen it; returns the config to use."""
        run, exists = cls.claim(root, run_id, mode, cfg.store)
        if exists:
            stored = run.config()
            diffs = config_differences(stored, cfg)
            if diffs:
                raise RunDirError(
                    f"cannot resume {run.uri}: the config differs from the one it was "
                    f"created with ({'; '.join(diffs)})",
                    "resume with the same config (only search.steps may grow), or start a new run",
                )
            # The differences allowed above come from the new config (more steps,
            # this machine's cache, store, metrics and pipeline settings); all
            # else is equal to the stored config.
            merged = stored.model_copy(
                update={
                    k: getattr(cfg, k) for k in ("search", "run", "store", "metrics", "pipeline")
                }
            )
            run.store.write_text(CONFIG_KEY, config_to_yaml(merged), overwrite=True)
            return run, merged
        run.store.write_text(CONFIG_KEY, config_to_yaml(cfg))
        run.write_json(
            "run.json",
            {
                "run_id": run_id,
                "profile": cfg.profile,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "random_vlm_weights": cfg.uses_random_weights,
            },
        )
        return run, cfg

    @classmethod
    def existing(cls, root: str, run_id: str) -> RunDir:
        run = cls(open_store(root).child(check_run_id(run_id)), run_id)
        if not run.store.exists(CONFIG_KEY):
            raise RunDirError(f"{run.uri} is not a GLOV run (no config.yaml)", "check the path")
        return run

    # -- contents -----------------------------------------------------------
    @property
    def location(self) -> str:
        """The run directory as a user names it: a local path, else the store URI."""
        path = self.store.local_path("")
        return str(path) if path is not None else self.uri

    def where(self, key: str) -> str:
        """A record's file as a user names it (in messages)."""
        return f"{self.location.rstrip('/')}/{key}"

    def _read_text(self, key: str) -> str:
        data = self.store.read_bytes(key)
        return decode_utf8(data, self.where(key), self.fix_for(key), RunDirError)

    def fix_for(self, key: str) -> str:
        """What to do about a damaged record `key`."""
        return RECORD_FIXES.get(key, "restore the file from a backup").format(run=self.location)

    def config(self) -> GlovConfig:
        where, fix = self.where(CONFIG_KEY), self.fix_for(CONFIG_KEY)
        data = parse_yaml(self._read_text(CONFIG_KEY), where, fix, RunDirError)
        if not isinstance(data, dict):
            raise RunDirError(f"{where}: the run's config is not a mapping of settings", fix)
        try:
            return validate_config(data)
        except ConfigError as exc:  # edited by hand: name the file, not a --set
            raise RunDirError(f"{where}: {exc.problem}", fix) from None

    def write_json(self, key: str, obj: Any, *, overwrite: bool = False) -> None:
        self.store.write_text(key, json.dumps(obj, indent=2, sort_keys=True), overwrite=overwrite)

    def read_json(self, key: str) -> Any:
        """A JSON record; one that does not parse is a RunDirError naming file, line, column."""
        return parse_json(self._read_text(key), self.where(key), self.fix_for(key), RunDirError)

    def has(self, key: str) -> bool:
        return self.store.exists(key)

    def step_log(self, arm: str) -> StepLog:
        """An arm's step records, with the line that ended them if it is damaged."""
        key = f"arms/{arm}/steps.jsonl"
        if not self.store.exists(key):
            return StepLog([], b"", None, intact=True)
        resume = (
            "resume the run with the config it was created with (glov run --config PROFILE "
            f"--run-dir {self.location} --resume)"
        )
        return parse_step_log(self.store.read_bytes(key), self.where(key), key, resume)

    def steps(self, arm: str) -> list[dict]:
        """Finished step records of an arm: the contiguous prefix 0..n-1 (see step_log)."""
        return self.step_log(arm).records

    def append_step(self, arm: str, record: dict) -> None:
        log = self.step_log(arm)
        done = log.records
        if record["step"] != len(done):
            raise RunDirError(
                f"step {record['step']} of arm {arm} does not follow step {len(done) - 1}",
                "resume the run instead of writing steps out of order",
            )
        key = f"arms/{arm}/steps.jsonl"
        if not log.intact:
            # Drop a damaged tail (a crash mid-append) before appending after it; the
            # finished steps keep their stored bytes.
            self.store.write_bytes(key, log.kept, overwrite=True)
        self.store.append_line(key, json.dumps(record, sort_keys=True))
