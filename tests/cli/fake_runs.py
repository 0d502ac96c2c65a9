"""A finished run directory written by hand: records and report that agree, no models.

The run-management commands read only the directory, so a hand-written run is
enough to test how they treat damaged records, in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from glov.config import load_config
from glov.runs.rundir import RunDir
from glov.search.arms import arms_for


def step_record(step: int, fitness: float) -> dict:
    best = {"template": f"a photo of a {{}}, step {step}.", "fitness": fitness}
    return {"step": step, "scored": [best], "best": best, "guidance": {"applied": False}}


def finished_run(root: Path, run_id: str = "done", steps: int = 2) -> RunDir:
    """A run of the smoke profile whose every arm finished `steps` steps, and its report."""
    cfg = load_config("smoke", [f"search.steps={steps}", f"store.uri={root}"])
    run, cfg = RunDir.open(str(root), run_id, cfg)
    run.write_json("data.json", {"name": "hand-written", "classnames": ["cat", "dog"]})
    arms, selected = {}, {}
    for arm in arms_for(cfg):
        records = [step_record(i, 0.5 + 0.1 * i) for i in range(steps + 1)]
        for record in records:
            run.append_step(arm.name, record)
        best = records[-1]["best"]
        arms[arm.name] = {
            "method": arm.method,
            "steps": steps,
            "best_fitness": best["fitness"],
            "best_template": best["template"],
            "top_templates": [best],
            "curve": [r["best"]["fitness"] for r in records],
            "test_best": 0.7,
            "test_top_n": 0.75,
        }
        selected.setdefault(arm.method, arm.name)
    baselines = {"s_temp": {"test": 0.6, "fitness": 0.5}, "ds_temp": {"test": 0.65}}
    report = {"run_id": run_id, "baselines": baselines, "arms": arms, "selected": selected}
    run.write_json("report.json", report)
    return run
