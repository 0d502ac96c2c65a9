"""The step tasks: generate, evaluate and rank in separate pods, or fused in one.

Every task first looks for its step's record in the run directory: a step
already recorded (a retried task, a re-run pipeline) is reused, never
recomputed.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from components.tasks.artifacts import (
    arm_from_dict,
    arm_to_dict,
    open_run,
    read_data,
    read_history,
    read_json,
    step_metric_values,
    write_history,
    write_json,
    write_text,
)
from components.tasks.tables import candidates_markdown
from glov.config import GlovConfig
from glov.data import DataBundle
from glov.metrics import RunMetrics
from glov.runs.execute import execute_step, finished_record, persist_step
from glov.runs.loaded_models import Models
from glov.runs.rundir import RunDir
from glov.runs.telemetry import arm_metrics
from glov.search import step as stages
from glov.search.arms import Arm
from glov.search.state import absorb, replay

# The `pipeline` label of the Prometheus series pushed by the pipeline's pods.
PIPELINE_LABEL = "kfp"


def _metrics(cfg: GlovConfig, run: RunDir, arm: Arm, dataset: str) -> RunMetrics:
    """The Prometheus recorder of one arm (pushes only when a Pushgateway is set)."""
    return arm_metrics(cfg, run, arm, dataset, PIPELINE_LABEL)


def generate_task(
    config_path: str, data_path: str, history_path: str, arm: dict, step: int, out_path: str
) -> dict:
    """Meta-prompt + (steered) sampling of one step of one arm -> candidates artifact.

    Step 0 (the seed template) reads no data and loads no model.
    """
    cfg, run = open_run(config_path)
    a = arm_from_dict(arm)
    history = read_history(history_path, a, step)
    record = finished_record(run, a, step)
    if record is not None:
        generation = stages.Generation.from_record(record)
    elif step == 0:
        generation = stages.seed_generation(cfg, a.method)
    else:
        state = replay(a, history, cfg.guidance.negative)
        data = read_data(cfg, data_path)
        models = Models(cfg, run=run)
        steering = models.steering if a.steers else None
        generation = stages.generate(
            cfg, models.llm, steering, state, step, data.name, data.description, data.classnames
        )
    doc = {
        "arm": arm_to_dict(a),
        "step": step,
        "reused": record is not None,
        "generation": asdict(generation),
    }
    write_json(out_path, doc)
    return doc


def evaluate_task(config_path: str, data_path: str, candidates_path: str, out_path: str) -> dict:
    """Fitness of the candidates on the fitness split (image features cached on disk)."""
    cfg, run = open_run(config_path)
    cand = read_json(candidates_path)
    a, step = arm_from_dict(cand["arm"]), int(cand["step"])
    record = finished_record(run, a, step)
    cache = {"hits": 0, "misses": 0}
    if record is not None:
        fitnesses = [c["fitness"] for c in record["scored"]]
        seconds = record.get("eval_seconds", 0.0)
    else:
        data = read_data(cfg, data_path)
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
        "feature_cache": cache,
    }
    write_json(out_path, doc)
    return doc


def rank_task(
    config_path: str,
    history_path: str,
    candidates_path: str,
    scores_path: str,
    history_out: str,
    table_out: str,
) -> dict[str, float]:
    """Merge the scored candidates into the history; append the step record to the run.

    Writes the step's candidates table (Markdown) to `table_out`; returns its metrics.
    """
    scores = read_json(scores_path)
    return rank_scores(config_path, history_path, candidates_path, scores, history_out, table_out)


def rank_scores(
    config_path: str,
    history_path: str,
    candidates_path: str,
    scores: dict,
    history_out: str,
    table_out: str,
) -> dict[str, float]:
    """rank_task with the scores document in hand (merged from shards, or evaluate's)."""
    cfg, run = open_run(config_path)
    cand = read_json(candidates_path)
    a, step = arm_from_dict(cand["arm"]), int(cand["step"])
    records = read_history(history_path, a, step)
    record = finished_record(run, a, step)
    reused = record is not None
    if record is None:
        state = replay(a, records, cfg.guidance.negative)
        generation = stages.Generation(**cand["generation"])
        record = stages.rank(
            cfg, state, step, generation, scores["fitnesses"], scores["eval_seconds"]
        )
        dataset = run.read_json("data.json")["name"] if run.has("data.json") else "unknown"
        metrics = _metrics(cfg, run, a, dataset)
        cache = scores.get("feature_cache", {})
        try:
            persist_step(run, metrics, record, cache.get("hits", 0), cache.get("misses", 0))
        finally:
            metrics.push()
    write_history(history_out, a, records + [record])
    write_text(table_out, candidates_markdown([record], [reused]))
    return step_metric_values(record, reused)


def fused_task(
    config_path: str,
    data_path: str,
    history_path: str,
    arm: dict,
    first: int,
    last: int,
    history_out: str,
    table_out: str,
) -> dict[str, float]:
    """Steps first..last of one arm in this process: the models load once.

    Writes the candidates tables of these steps (Markdown) to `table_out`; returns
    the last step's metrics.
    """
    cfg, run = open_run(config_path)
    a = arm_from_dict(arm)
    records = read_history(history_path, a, first)
    state = replay(a, records, cfg.guidance.negative)
    models = Models(cfg, run=run)
    data: DataBundle | None = None
    metrics: RunMetrics | None = None
    reused: list[bool] = []
    for step in range(first, last + 1):
        record = finished_record(run, a, step)
        reused.append(record is not None)
        if record is not None:
            absorb(state, record, cfg.guidance.negative)
        else:
            data = data or read_data(cfg, data_path)
            metrics = metrics or _metrics(cfg, run, a, data.name)
            record = execute_step(cfg, run, models, data, state, metrics)
        records.append(record)
    write_history(history_out, a, records)
    write_text(table_out, candidates_markdown(records[first:], reused))
    out = step_metric_values(records[-1], all(reused))
    out["steps_reused"] = float(sum(reused))
    return out
