"""The stage tasks the Kubeflow components call (plain Python, no kfp import).

Each component in components/ calls one `*_task` function with the local
paths of its input and output artifacts. The tasks call the same stages as the
in-process loop (glov.stages, glov.search) and keep the run directory the
single source of truth: a step whose record is already there (a retried task,
a re-run pipeline) is reused, never recomputed. Run parameters live in
glov.pipeline_params.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from glov.arms import Arm, arms_for
from glov.config import GlovConfig, config_to_yaml, validate_config
from glov.errors import RunDirError
from glov.pipeline_params import (
    PIPELINE_LABEL,
    check_structure,
    resolve_config,
    resolve_run_id,
)


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


def _open_run(config_path: str | Path):
    """The resolved config and the run directory named by a config artifact."""
    from glov.rundir import RunDir

    doc = yaml.safe_load(Path(config_path).read_text())
    cfg = validate_config(doc["config"])
    return cfg, RunDir.existing(doc["store_uri"], doc["run_id"])


def _history(path: str | Path, arm: Arm, step: int) -> list[dict]:
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


def _write_history(path: str | Path, arm: Arm, records: list[dict]) -> None:
    best = records[-1]["best"] if records else None
    write_json(path, {"arm": arm.name, "next_step": len(records), "best": best, "records": records})


def _done(run, arm: Arm, step: int) -> dict | None:
    """The record of `step` if the run directory already has it (retry or re-run)."""
    records = run.steps(arm.name)
    return records[step] if len(records) > step else None


def step_metrics(record: dict, reused: bool) -> dict[str, float]:
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


# -- tasks ----------------------------------------------------------------------------


def prepare_task(
    base_config: str,
    params: dict[str, Any],
    overrides: list[str],
    run_id: str,
    job_id: str,
    compiled_steps: int,
    config_out: str,
    data_out: str,
    history_out: str,
) -> list[dict]:
    """Resolve and validate the config, create or reopen the run, prepare the data.

    Returns the arms as dicts (the pipeline fans out over them).
    """
    from glov.rundir import RunDir
    from glov.search import load_or_prepare_data

    cfg = resolve_config(base_config, params, overrides)
    check_structure(cfg, compiled_steps)
    rid = resolve_run_id(run_id, cfg, job_id)
    # resume=True: create the run, or reopen it (a retried task, a re-run pipeline);
    # a reopened run must have the same config (only search.steps may grow).
    run, cfg = RunDir.open(cfg.store.uri, rid, cfg, resume=True)
    bundle = load_or_prepare_data(cfg, run)  # data.json: the splits are fixed once per run
    Path(config_out).parent.mkdir(parents=True, exist_ok=True)
    Path(config_out).write_text(
        yaml.safe_dump(
            {
                "run_id": rid,
                "run_uri": run.uri,
                "store_uri": cfg.store.uri,
                "config": yaml.safe_load(config_to_yaml(cfg)),
            },
            sort_keys=False,
        )
    )
    write_json(data_out, bundle.to_json())
    write_json(history_out, {"arm": None, "next_step": 0, "best": None, "records": []})
    return [arm_to_dict(a) for a in arms_for(cfg)]


def _data(cfg: GlovConfig, run, data_path: str):
    """The run's data bundle; its images re-materialised first if this pod lacks them."""
    from glov.databundle import DataBundle
    from glov.search import load_or_prepare_data

    bundle = DataBundle.from_json(read_json(data_path))
    if bundle.fitness.paths and not Path(bundle.fitness.paths[0]).exists():
        load_or_prepare_data(cfg, run)  # a fresh pod: packaged or s3:// data, same paths
    return bundle


def generate_task(
    config_path: str, data_path: str, history_path: str, arm: dict, step: int, out_path: str
) -> dict:
    """Meta-prompt + (steered) sampling of one step of one arm -> candidates artifact."""
    from glov import stages
    from glov.search import Models

    cfg, run = _open_run(config_path)
    a = arm_from_dict(arm)
    record = _done(run, a, step)
    if record is not None:
        generation = _generation_from_record(record)
    else:
        state = stages.replay(a, _history(history_path, a, step), cfg.guidance.negative)
        if step == 0:
            generation = stages.seed_generation(cfg)
        else:
            data = _data(cfg, run, data_path)
            llm = Models(cfg, run=run).llm
            generation = stages.generate(cfg, llm, state, step, data.name, data.description)
    doc = {
        "arm": arm_to_dict(a),
        "step": step,
        "reused": record is not None,
        "generation": asdict(generation),
    }
    write_json(out_path, doc)
    return doc


def _generation_from_record(record: dict):
    from glov.stages import Generation

    llm = record.get("llm", {})
    return Generation(
        templates=[c["template"] for c in record["scored"]],
        rejections=dict(record.get("rejected", {})),
        answers=list(record.get("answers", [])),
        new_tokens=llm.get("new_tokens", 0),
        prompt_tokens=llm.get("prompt_tokens", 0),
        seconds=llm.get("seconds", 0.0),
        guidance=dict(record.get("guidance", {})),
    )


def evaluate_task(config_path: str, data_path: str, candidates_path: str, out_path: str) -> dict:
    """Fitness of the candidates on the fitness split (image features cached on disk)."""
    import time

    from glov import stages
    from glov.search import Models

    cfg, run = _open_run(config_path)
    cand = read_json(candidates_path)
    a, step = arm_from_dict(cand["arm"]), int(cand["step"])
    record = _done(run, a, step)
    if record is not None:
        fitnesses = [c["fitness"] for c in record["scored"]]
        seconds = record.get("eval_seconds", 0.0)
    else:
        data = _data(cfg, run, data_path)
        scorer = Models(cfg, run=run).scorer
        t0 = time.perf_counter()
        templates = cand["generation"]["templates"]
        fitnesses = stages.evaluate(scorer, templates, data.fitness, data.classnames)
        seconds = time.perf_counter() - t0
        cache = {"hits": scorer.cache_hits, "misses": scorer.cache_misses}
    doc = {
        "arm": cand["arm"],
        "step": step,
        "reused": record is not None,
        "fitnesses": fitnesses,
        "eval_seconds": seconds,
        "feature_cache": cache if record is None else {"hits": 0, "misses": 0},
    }
    write_json(out_path, doc)
    return doc


def rank_task(
    config_path: str, history_path: str, candidates_path: str, scores_path: str, history_out: str
) -> dict[str, float]:
    """Merge the scored candidates into the history; append the step record to the run."""
    from glov import stages
    from glov.step_metrics import record_step

    cfg, run = _open_run(config_path)
    cand, scores = read_json(candidates_path), read_json(scores_path)
    a, step = arm_from_dict(cand["arm"]), int(cand["step"])
    records = _history(history_path, a, step)
    record = _done(run, a, step)
    reused = record is not None
    if record is None:
        state = stages.replay(a, records, cfg.guidance.negative)
        generation = stages.Generation(**cand["generation"])
        record = stages.rank(
            cfg, state, step, generation, scores["fitnesses"], scores["eval_seconds"]
        )
        run.append_step(a.name, record)
        cache = scores.get("feature_cache", {})
        metrics = _arm_metrics(cfg, run, a)
        record_step(metrics, record, cache.get("hits", 0), cache.get("misses", 0))
        metrics.push(step)
    _write_history(history_out, a, records + [record])
    return step_metrics(record, reused)


def fused_task(
    config_path: str,
    data_path: str,
    history_path: str,
    arm: dict,
    first: int,
    last: int,
    history_out: str,
) -> dict[str, float]:
    """Steps first..last of one arm in this process: the models load once."""
    from glov import stages
    from glov.search import Models, run_step
    from glov.step_metrics import record_step

    cfg, run = _open_run(config_path)
    a = arm_from_dict(arm)
    records = _history(history_path, a, first)
    state = stages.replay(a, records, cfg.guidance.negative)
    models = Models(cfg, run=run)
    data = None
    metrics = None
    reused = 0
    for step in range(first, last + 1):
        record = _done(run, a, step)
        if record is not None:
            stages.absorb(state, record, cfg.guidance.negative)
            reused += 1
        else:
            data = data or _data(cfg, run, data_path)
            metrics = metrics or _arm_metrics(cfg, run, a, data.name)
            hits, misses = models.scorer.cache_hits, models.scorer.cache_misses
            try:
                record = run_step(cfg, models, data, state, metrics)
                run.append_step(a.name, record)
                record_step(
                    metrics,
                    record,
                    models.scorer.cache_hits - hits,
                    models.scorer.cache_misses - misses,
                )
            finally:
                metrics.push(step)
        records.append(record)
    _write_history(history_out, a, records)
    out = step_metrics(records[-1], reused == last - first + 1)
    out["steps_reused"] = float(reused)
    return out


def _arm_metrics(cfg: GlovConfig, run, arm: Arm, dataset: str | None = None):
    """The Prometheus recorder of one arm (pushes only when a Pushgateway is set)."""
    from glov.step_metrics import arm_metrics

    if dataset is None:
        dataset = run.read_json("data.json")["name"] if run.has("data.json") else "unknown"
    return arm_metrics(cfg, run.run_id, arm, dataset, pipeline=PIPELINE_LABEL)


def final_task(
    config_path: str,
    data_path: str,
    histories: list[str],
    markdown_out: str,
    report_out: str,
) -> dict[str, float]:
    """Test evaluation of each arm's best and top-n against the baselines; the report."""
    from glov.report import plot_png, render_markdown, write_report
    from glov.search import Models
    from glov.step_metrics import record_final

    cfg, run = _open_run(config_path)
    for path in histories:
        doc = read_json(path)
        if len(doc["records"]) != cfg.search.steps + 1:
            raise RunDirError(
                f"arm {doc['arm']} finished {len(doc['records'])} of {cfg.search.steps + 1} steps",
                "re-run the pipeline with the same run_id: finished steps are reused",
            )
    report = _finished_report(cfg, run)
    if report is None:
        data = _data(cfg, run, data_path)
        report = write_report(cfg, run, Models(cfg, run=run).scorer, data)
        for arm in arms_for(cfg):
            metrics = _arm_metrics(cfg, run, arm, data.name)
            record_final(metrics, report, arm.name)
            metrics.push("final")
    write_json(report_out, report)
    Path(markdown_out).parent.mkdir(parents=True, exist_ok=True)
    Path(markdown_out).write_text(embed_plot(render_markdown(report), plot_png(report)))
    return final_metrics(report)


def _finished_report(cfg: GlovConfig, run) -> dict | None:
    """report.json of this run if it covers exactly the finished steps of every arm."""
    if not run.has("report.json"):
        return None
    report = run.read_json("report.json")
    arms = report.get("arms", {})
    for arm in arms_for(cfg):
        if arm.name not in arms or arms[arm.name].get("steps") != cfg.search.steps:
            return None
    return report


PLOT_LINK = "](fitness.png)"


def embed_plot(markdown: str, png: bytes) -> str:
    """The report's Markdown with fitness.png inlined as a data URI (one self-contained file)."""
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    if PLOT_LINK in markdown:
        return markdown.replace(PLOT_LINK, f"]({uri})")
    return markdown + f"\n\n![best fitness per step]({uri})\n"


def final_metrics(report: dict) -> dict[str, float]:
    b = report["baselines"]
    out = {"s_temp_test": float(b["s_temp"]["test"]), "ds_temp_test": float(b["ds_temp"]["test"])}
    for name, arm in report["arms"].items():
        out[f"{name}_fitness"] = float(arm["best_fitness"])
        out[f"{name}_test_best"] = float(arm["test_best"])
        out[f"{name}_test_top_n"] = float(arm["test_top_n"])
    return out
