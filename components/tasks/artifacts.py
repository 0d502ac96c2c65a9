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
from glov.file_syntax import parse_json, parse_yaml
from glov.runs.inputs import with_local_images
from glov.runs.rundir import RunDir
from glov.search.arms import Arm
from glov.search.state import step_answers


def write_json(path: str | Path, obj: Any) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True))


def write_text(path: str | Path, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)


# A task's input artifact that does not parse was cut short by its writer.
ARTIFACT_FIX = "the task that wrote it did not finish: re-run the pipeline with the same run_id"


def read_json(path: str | Path) -> Any:
    return parse_json(Path(path).read_text(), str(path), ARTIFACT_FIX, RunDirError)


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
    doc = parse_yaml(Path(config_path).read_text(), str(config_path), ARTIFACT_FIX, RunDirError)
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


# KFP Metrics: accuracies are fractions of a few hundred or thousand images, so
# 4 decimals keep every real difference and drop float32 noise (0.7318000197).
DECIMALS = 4


def log_metrics(metrics: Any, values: dict[str, float]) -> None:
    """Log `values` (a task's *_metric_values) on a component's Output[Metrics]."""
    for name, value in values.items():
        metrics.log_metric(name, value)


def _r(x: float) -> float:
    return round(float(x), DECIMALS)


def step_metric_values(record: dict, reused: bool) -> dict[str, float]:
    """A step record as KFP Metrics (the Run details page shows them per task).

    The keys name no arm (the task's place in the DAG does), so the same step of
    two runs lines up in Compare runs.
    """
    answers = step_answers(record)
    out = {
        "step": float(record["step"]),
        "best_fitness": _r(record["best"]["fitness"]),
        "scored": float(len(record["scored"])),
        # Answer quality: generated = clean + repaired + rejected (glov.llm.parser).
        "generated": float(answers["sampled"]),
        "clean": float(answers["clean"]),
        "repaired": float(answers["repaired"]),
        "rejected": float(answers["rejected"]),
        "guided": 1.0 if record.get("guidance", {}).get("applied") else 0.0,
        "reused": 1.0 if reused else 0.0,
    }
    if record.get("step_best") is not None:
        out["step_best"] = _r(record["step_best"])
    return out


def method_key(method: str) -> str:
    """A method name as a metrics key prefix: glov-noguide -> glov_noguide."""
    return method.replace("-", "_")


def final_metric_values(report: dict) -> dict[str, float]:
    """The report's accuracies as KFP Metrics, under keys that are the same in every run.

    No key names an arm (glov-alpha0.5 exists only in runs that sweep 0.5):
    `best_*` and `selected_alpha` are the main method's arm selected by fitness,
    `<method>_*` each method's selected arm, the baselines `s_temp_*`/`ds_temp_*`.
    `test_top1` is the best template's top-1 test accuracy, `ensemble_test_top1`
    that of the ensemble of the eval.top_n best templates.
    """
    b = report["baselines"]
    out = {
        "s_temp_test_top1": _r(b["s_temp"]["test"]),
        "ds_temp_test_top1": _r(b["ds_temp"]["test"]),
    }
    main = report["search"]["method"]
    for method, arm_name in sorted(report["selected"].items()):
        arm = report["arms"][arm_name]
        prefixes = [method_key(method)] + (["best"] if method == main else [])
        for prefix in prefixes:
            out[f"{prefix}_fitness"] = _r(arm["best_fitness"])
            out[f"{prefix}_test_top1"] = _r(arm["test_best"])
            out[f"{prefix}_ensemble_test_top1"] = _r(arm["test_top_n"])
            # The selected arm's answers over the run: a weak LLM shows in Compare runs.
            for what in ("generated", "clean", "repaired"):
                out[f"{prefix}_answers_{what}"] = float(arm.get(what, 0))
            out[f"{prefix}_answers_rejected"] = float(sum(arm["rejected"].values()))
        if method == main and arm.get("alpha") is not None:
            out["selected_alpha"] = _r(arm["alpha"])
    return out
