"""The runs in a store and how far each got: what `glov list`, `show` and `compare` read.

Everything comes from the run directories (config, step records, report), so
it works while a run is going, on this machine or from an s3:// store, and
never needs the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from glov.runs.integrity import check_run, read_record
from glov.runs.rundir import CONFIG_KEY, RunDir
from glov.runs.step_log import RecordProblem
from glov.search.state import answer_totals
from glov.store import open_store


@dataclass(frozen=True)
class ArmProgress:
    name: str
    steps_done: int  # finished steps after the seed (step 0)
    best_fitness: float | None
    best_template: str | None
    guided_steps: int
    # Answer quality so far (glov.search.state.answer_totals): sampled, clean, repaired, rejected.
    answers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    uri: str
    profile: str
    created: str | None
    steps_target: int
    finished: bool
    arms: list[ArmProgress] = field(default_factory=list)
    report: dict | None = None
    # Damaged or disagreeing records (glov.runs.integrity): file, line, meaning, fix.
    problems: list[RecordProblem] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.problems:
            return "damaged"
        if self.finished:
            return "finished"
        return "not started" if all(a.steps_done < 0 for a in self.arms) else "incomplete"

    @property
    def best(self) -> ArmProgress | None:
        scored = [a for a in self.arms if a.best_fitness is not None]
        return max(scored, key=lambda a: a.best_fitness) if scored else None


def run_ids(root: str) -> list[str]:
    """The runs directly under a store root (folders that hold a config.yaml)."""
    keys = open_store(root).list()
    return sorted({k.split("/")[0] for k in keys if k.count("/") == 1 and k.endswith(CONFIG_KEY)})


def summarize(run: RunDir) -> RunSummary:
    """How far a run got, arm by arm, from its directory alone; what of it is damaged.

    A config.yaml that cannot be read raises (RunDirError): without it nothing
    else can be judged.
    """
    cfg = run.config()
    check = check_run(cfg, run)
    arms = []
    for name, records in check.steps.items():
        best = records[-1]["best"] if records else None
        arms.append(
            ArmProgress(
                name=name,
                steps_done=len(records) - 1,
                best_fitness=best["fitness"] if best else None,
                best_template=best.get("template") if best else None,
                guided_steps=sum(1 for r in records if (r.get("guidance") or {}).get("applied")),
                answers=answer_totals(records),
            )
        )
    meta = read_record(run, "run.json", []) or {}
    return RunSummary(
        run_id=run.run_id,
        uri=run.uri,
        profile=cfg.profile,
        created=meta.get("created"),
        steps_target=cfg.search.steps,
        finished=check.report is not None,
        arms=arms,
        report=check.report,
        problems=check.problems,
    )
