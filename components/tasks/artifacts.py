"""The files passed between pipeline tasks, and the values they log as KFP Metrics.

- config artifact: the resolved config, the run id and its store (YAML)
- data artifact: the run's splits (data.json)
- history artifact: an arm's step records so far (JSON)
- candidates / scores artifacts: one step's generation and fitnesses (JSON)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from glov.config import GlovConfig, config_to_yaml, validate_config
from glov.data import DataBundle
from glov.errors import RunDirError
from glov.runs.inputs import with_local_images
from glov.runs.rundir import RunDir
from glov.search.arms import Arm


def write_json(path: str | Path, obj: Any) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def arm_to_dict(arm: Arm) -> dict:
    """An arm as a pipeline loop item: no nulls (KFP parameters cannot hold them)."""
    d: dict[str, Any] = {"name": arm.name, "method": arm.method}
    if arm.alpha is not None:
        d["alpha"] = arm.alpha
    return d


def arm_from_dict(d: dict) -> Arm:
    alpha = d.get("alpha")
    return Arm(d["name"], d["method"], None if alpha is None else float(alpha))


def write_config(path: str | Path, cfg: GlovConfig, run: RunDir) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "run_id": run.run_id,
        "run_uri": run.uri,
        "store_uri": cfg.store.uri,
        "config": yaml.safe_load(config_to_yaml(cfg)),
    }
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False))


def open_run(config_path: str | Path) -> tuple[GlovConfig, RunDir]:
    """The resolved config and the run directory named by a config artifact."""
    doc = yaml.safe_load(Path(config_path).read_text())
    cfg = validate_config(doc["config"])
    return cfg, RunDir.existing(doc["store_uri"], doc["run_id"])


def read_data(cfg: GlovConfig, path: str | Path) -> DataBundle:
    """The data artifact's bundle, its images present on this pod."""
    return with_local_images(cfg, DataBundle.from_json(read_json(path)))


def read_history(path: str | Path, arm: Arm, step: int) -> list[dict]:
    """The arm's step records 0..step-1 from a history artifact."""
    doc = read_json(path)
    if doc.get("arm") not in (None, arm.name):  # None: the empty history of data prep
        raise RunDirError(
            f"step {step} of arm {arm.name} got the history of arm {doc['arm']}",
            "this is a bug in the pipeline wiring; please report it",
        )
    records = doc["records"][:step]
    if len(records) != step:
        raise RunDirError(
            f"step {step} of arm {arm.name} needs the records of steps 0..{step - 1}, "
            f"but its history artifact holds {len(records)}",
            "re-run the pipeline with the same run_id: finished steps are reused",
        )
    return records


def write_history(path: str | Path, arm: Arm | None, records: list[dict]) -> None:
    """A history artifact; arm None is the empty history data prep hands to every arm."""
    best = records[-1]["best"] if records else None
    name = arm.name if arm is not None else None
    write_json(path, {"arm": name, "next_step": len(records), "best": best, "records": records})


def step_metric_values(record: dict, reused: bool) -> dict[str, float]:
    """A step record as KFP Metrics (the Run details page shows them per task)."""
    out = {
        "step": float(record["step"]),
        "best_fitness": float(record["best"]["fitness"]),
        "scored": float(len(record["scored"])),
        "rejected": float(sum(record.get("rejected", {}).values())),
        "guided": 1.0 if record.get("guidance", {}).get("applied") else 0.0,
        "reused": 1.0 if reused else 0.0,
    }
    if record.get("step_best") is not None:
        out["step_best"] = float(record["step_best"])
    return out


def final_metric_values(report: dict) -> dict[str, float]:
    """The report's accuracies as KFP Metrics."""
    b = report["baselines"]
    out = {"s_temp_test": float(b["s_temp"]["test"]), "ds_temp_test": float(b["ds_temp"]["test"])}
    for name, arm in report["arms"].items():
        out[f"{name}_fitness"] = float(arm["best_fitness"])
        out[f"{name}_test_best"] = float(arm["test_best"])
        out[f"{name}_test_top_n"] = float(arm["test_top_n"])
    return out
