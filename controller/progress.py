"""What a run directory tells about a run's progress: steps per arm, the best template.

Arms are read from the directory (`arms/<arm>/steps.jsonl`), not derived from
the spec: method, alphas and compare_with are run parameters, so only the run
knows its arms. Step 0 is the seed; an arm at step N has N + 1 records. A
damaged or disagreeing record is named (file, line, meaning, fix) in
`problems`, the progress of the records before it still counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from glov.errors import GlovError
from glov.runs.integrity import REPORT_KEY, read_record, report_disagreements
from glov.runs.rundir import RunDir
from glov.runs.step_log import RecordProblem
from glov.store import open_store


class StoreError(GlovError):
    """The run directory could not be read (credentials, endpoint, a torn file)."""


@dataclass
class Progress:
    steps: dict[str, int] = field(default_factory=dict)
    total_steps: int = 0
    best_fitness: float | None = None
    best_template: str | None = None
    best_arm: str | None = None
    report_uri: str | None = None
    # Damaged or disagreeing records (glov.runs.integrity), each `problem; fix: ...`.
    problems: list[str] = field(default_factory=list)

    @property
    def step(self) -> str:
        """`3/10`: the step the slowest arm finished, of the steps per arm."""
        done = min(self.steps.values()) if self.steps else 0
        return f"{done}/{self.total_steps}"


def read_progress(store_uri: str, run_id: str, total_steps: int) -> Progress:
    try:
        run = RunDir(open_store(store_uri).child(run_id), run_id)
        arms = sorted(
            {key.split("/")[1] for key in run.store.list("arms/") if key.endswith("/steps.jsonl")}
        )
        progress = Progress(total_steps=total_steps)
        logs = {arm: run.step_log(arm) for arm in arms}
        found: list[RecordProblem] = [log.problem for log in logs.values() if log.problem]
        for arm, log in logs.items():
            records = log.records
            if not records:
                continue
            progress.steps[arm] = records[-1]["step"]
            best = records[-1].get("best") or {}
            fitness = best.get("fitness")
            if fitness is not None and (
                progress.best_fitness is None or fitness > progress.best_fitness
            ):
                progress.best_fitness = float(fitness)
                progress.best_template = best.get("template")
                progress.best_arm = arm
        report = read_record(run, REPORT_KEY, found)
        if report is not None:
            found += report_disagreements(run, report, logs)
            _from_report(progress, report)
            progress.report_uri = f"{run.uri.rstrip('/')}/report.md"
        progress.problems = [f"{p.problem}; fix: {p.fix}" for p in found]
        return progress
    except GlovError as exc:
        problem = f"cannot read run {run_id} in {store_uri}: {exc.problem}"
        raise StoreError(problem, exc.fix) from exc
    except Exception as exc:  # any backend failure (S3, disk, a torn JSON) is a condition
        raise StoreError(
            f"cannot read run {run_id} in {store_uri}: {type(exc).__name__}: {exc}",
            "check the store credentials (glov-s3) and spec.storeUri",
        ) from exc


def _from_report(progress: Progress, report: dict) -> None:
    """The report's selection wins: it picks the best arm by fitness over all steps."""
    arms = report.get("arms") or {}
    for name, arm in arms.items():
        fitness = arm.get("best_fitness")
        if fitness is not None and (
            progress.best_fitness is None or fitness >= progress.best_fitness
        ):
            progress.best_fitness = float(fitness)
            progress.best_template = arm.get("best_template")
            progress.best_arm = name
