"""An arm's step log (`arms/<arm>/steps.jsonl`) read line by line, damage named.

Only a contiguous prefix of well-formed records (steps 0, 1, ..., n-1) counts as
finished. The first line that breaks it (cut off mid-line by a crash or a full
disk, not JSON, not a step record, a step out of order) ends the prefix; it is
reported with its file and line, what it means and what to do, never dropped in
silence. The prefix keeps its stored bytes, so a resumed run that redoes the
damaged step leaves every complete step byte for byte as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from glov.errors import GlovError, RunDirError
from glov.file_syntax import position

# The fields every step record has (glov.search.state.absorb reads them).
STEP_FIELDS = ("step", "scored", "best")


@dataclass(frozen=True)
class RecordProblem:
    """A damaged or inconsistent run record: where, what it means, what to do."""

    key: str  # the record's key in the run directory (report.json, arms/a/steps.jsonl)
    problem: str  # `file:line[:column]: what it is and what it means`
    fix: str

    @classmethod
    def of(cls, key: str, error: GlovError) -> RecordProblem:
        return cls(key, error.problem, error.fix or "")

    def error(self) -> RunDirError:
        return RunDirError(self.problem, self.fix)


@dataclass(frozen=True)
class StepLog:
    records: list[dict]  # the finished steps 0..n-1
    kept: bytes  # their lines exactly as stored, each ending in a newline
    problem: RecordProblem | None  # the line that ended the prefix, if any
    intact: bool  # the file holds exactly `kept` (nothing to repair before appending)


def _is_step_record(record: object) -> bool:
    return (
        isinstance(record, dict)
        and all(k in record for k in STEP_FIELDS)
        and isinstance(record["scored"], list)
        and isinstance(record["best"], dict)
        and "fitness" in record["best"]
    )


def _defect(raw: bytes, index: int, last: bool) -> tuple[str, int | None] | None:
    """What is wrong with line `index` (the record of step `index`), and the column."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"bytes that are not UTF-8 text (byte 0x{raw[exc.start]:02x})", exc.start + 1
    if not text.strip():
        return "an empty line", None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        if last:
            return "a step record cut off mid-line (the run stopped while writing it)", None
        return f"a line that is not JSON ({exc.msg})", exc.colno
    if not _is_step_record(record):
        return f"a line that is not a step record (it needs {', '.join(STEP_FIELDS)})", None
    if record["step"] != index:
        return f"step {record['step']!r} where step {index} belongs (a step repeated or lost)", None
    return None


def parse_step_log(data: bytes, source: str, key: str, resume: str) -> StepLog:
    """The finished steps of a step log's bytes; `resume` says how to continue the run."""
    lines = data.split(b"\n")
    complete = data.endswith(b"\n")
    if complete:
        lines.pop()  # the empty piece after the last newline
    records: list[dict] = []
    kept = 0
    for index, raw in enumerate(lines):
        last = index == len(lines) - 1 and not complete
        defect = _defect(raw, index, last)
        if defect is not None:
            what, column = defect
            ignored = len(lines) - index - 1
            later = f"; the {ignored} line(s) after it are ignored" if ignored else ""
            done = f"steps 0-{index - 1} stay" if index else "no step is"
            problem = RecordProblem(
                key,
                f"{position(source, index + 1, column)}: {what}: step {index} and later count "
                f"as not done{later}",
                f"{resume}: it redoes step {index} and what follows; {done} as stored",
            )
            return StepLog(records, data[:kept], problem, intact=False)
        records.append(json.loads(raw))
        kept += len(raw) + 1
    if not complete and lines:  # a last record without its newline: keep it whole
        return StepLog(records, data + b"\n", None, intact=False)
    return StepLog(records, data, None, intact=True)
