"""Whether a run's records are whole and agree with its report: what "finished" means.

A run is finished only when report.json covers exactly the step records of
every arm (as many steps, the same best fitness at each) and no record is
damaged. Every reader of a run directory (`glov show`, `list`, `compare`,
`export`, `report`, resume, the operator's progress) asks here, so damage is
named the same way everywhere: file, line, what it means, what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from glov.config import GlovConfig
from glov.errors import GlovError, RunDirError
from glov.runs.rundir import RunDir
from glov.runs.step_log import RecordProblem, StepLog
from glov.search.arms import arms_for

REPORT_KEY = "report.json"
# Records read beside the step logs; config.yaml is read (and checked) by run.config().
SIDE_RECORDS = ("run.json", "data.json")


@dataclass
class RunCheck:
    steps: dict[str, list[dict]]  # arm -> its finished step records
    problems: list[RecordProblem] = field(default_factory=list)
    report: dict | None = None  # report.json when it agrees with the records: finished


def read_record(run: RunDir, key: str, problems: list[RecordProblem]) -> dict | None:
    """A JSON record of the run, or None (absent, or damaged: then added to `problems`)."""
    if not run.has(key):
        return None
    try:
        record = run.read_json(key)
    except GlovError as exc:
        problems.append(RecordProblem.of(key, exc))
        return None
    if not isinstance(record, dict):
        what = f"{run.where(key)}: not a JSON object"
        problems.append(RecordProblem(key, what, run.fix_for(key)))
        return None
    return record


def report_disagreements(
    run: RunDir, report: dict, logs: Mapping[str, StepLog]
) -> list[RecordProblem]:
    """Where report.json claims more, or other, steps than the step records hold.

    A report older than the records (a run resumed with more steps) is not a
    disagreement: it covers fewer steps, and the run is simply not finished.
    """
    problems = []
    arms = report.get("arms") if isinstance(report.get("arms"), dict) else {}
    for name, log in logs.items():
        arm = arms.get(name)
        if not isinstance(arm, dict) or log.problem is not None:
            continue  # not in the report (yet), or its damage is named already
        key = f"arms/{name}/steps.jsonl"
        claimed, held = arm.get("steps"), len(log.records) - 1
        if isinstance(claimed, int) and claimed > held:
            problems.append(
                RecordProblem(
                    key,  # the step records are what was lost
                    f"{run.where(REPORT_KEY)}: says arm {name} finished {claimed} steps, but "
                    f"{run.where(key)} holds {max(held, 0)}: step records were lost after the "
                    "report was written, so the run is not finished",
                    f"resume the run (glov run --config PROFILE --run-dir {run.location} "
                    "--resume): it redoes the lost steps and writes the report again",
                )
            )
            continue
        curve = arm.get("curve")
        held_curve = [r["best"]["fitness"] for r in log.records]
        if isinstance(curve, list) and len(curve) == len(log.records) and curve != held_curve:
            step = next(i for i, (a, b) in enumerate(zip(curve, held_curve, strict=True)) if a != b)
            problems.append(
                RecordProblem(
                    REPORT_KEY,
                    f"{run.where(REPORT_KEY)}: arm {name}'s best fitness at step {step} is "
                    f"{curve[step]!r}, but {run.where(key)} line {step + 1} says "
                    f"{held_curve[step]!r}: one of them was changed after the report was written",
                    f"write the report again from the step records: glov report {run.location}",
                )
            )
    return problems


def damage_error(problems: list[RecordProblem], run: RunDir) -> RunDirError:
    """The first problem as an error; how many more there are, and where they are listed."""
    first = problems[0]
    more = len(problems) - 1
    tail = f" ({more} more damaged record(s): glov show {run.location} lists them)" if more else ""
    return RunDirError(first.problem + tail, first.fix)


def check_run(cfg: GlovConfig, run: RunDir) -> RunCheck:
    """The run's step records, what is damaged or disagrees, and the report if finished."""
    logs = {arm.name: run.step_log(arm.name) for arm in arms_for(cfg)}
    check = RunCheck({name: log.records for name, log in logs.items()})
    check.problems += [log.problem for log in logs.values() if log.problem is not None]
    for key in SIDE_RECORDS:
        read_record(run, key, check.problems)
    report = read_record(run, REPORT_KEY, check.problems)
    if report is None:
        return check
    check.problems += report_disagreements(run, report, logs)
    arms = report.get("arms") or {}
    covered = all(
        isinstance(arms.get(name), dict)
        and arms[name].get("steps") == len(records) - 1 >= cfg.search.steps
        for name, records in check.steps.items()
    )
    if covered and not check.problems:
        check.report = report
    return check
