"""Executing one step of one arm against the run directory.

The loop and the pipeline's fused-step task run `execute_step`; the split
generate/evaluate/rank tasks run the stages in separate pods and end with
`persist_step`. Either way a finished step is appended to the run directory
before anything else, and a step already there is reused, never recomputed.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext

from glov.config import GlovConfig
from glov.data import DataBundle
from glov.metrics import RunMetrics
from glov.runs.loaded_models import Models
from glov.runs.rundir import RunDir
from glov.runs.telemetry import record_step
from glov.search import step as stages
from glov.search.arms import Arm
from glov.search.state import ArmState

log = logging.getLogger(__name__)

# Every finished step logs one line with this tag: in a pod's log it is the run's
# progress, and the local pipeline runner (pipelines/local_console.py) echoes
# exactly these lines of its tasks' output.
STEP_LOG_TAG = "[glov step]"


def step_summary(record: dict) -> str:
    """A finished step in one line: arm, step, best fitness so far, LLM tokens/s."""
    line = f"{record['arm']} step {record['step']}: best fitness {record['best']['fitness']:.4f}"
    if record.get("step_best") is not None:
        line += f" (this step {record['step_best']:.4f})"
    llm = record.get("llm") or {}
    if llm.get("seconds"):  # step 0 scores the seed template: no LLM call
        line += f", {llm['new_tokens'] / llm['seconds']:.1f} tokens/s"
    return line


def finished_record(run: RunDir, arm: Arm, step: int) -> dict | None:
    """The record of `step` if the run directory already has it (retry, re-run, resume)."""
    records = run.steps(arm.name)
    return records[step] if len(records) > step else None


def run_stages(
    cfg: GlovConfig,
    models: Models,
    data: DataBundle,
    state: ArmState,
    metrics: RunMetrics | None = None,
) -> dict:
    """generate -> evaluate -> rank of the arm's next step; returns its record."""

    def stage(name: str) -> AbstractContextManager:
        return metrics.stage(name) if metrics is not None else nullcontext()

    step = state.next_step
    with stage("generate"):
        if step == 0:
            generation = stages.seed_generation(cfg, state.arm.method)
        else:
            steering = models.steering if state.arm.steers else None
            generation = stages.generate(
                cfg, models.llm, steering, state, step, data.name, data.description, data.classnames
            )
    t0 = time.perf_counter()
    with stage("evaluate"):
        fitnesses = stages.evaluate(
            models.scorer, generation.templates, data.fitness, data.classnames
        )
    with stage("rank"):
        return stages.rank(cfg, state, step, generation, fitnesses, time.perf_counter() - t0)


def persist_step(
    run: RunDir, metrics: RunMetrics, record: dict, cache_hits: int, cache_misses: int
) -> None:
    """Append a finished step to the run directory, then record its metrics."""
    run.append_step(record["arm"], record)
    log.info("%s %s", STEP_LOG_TAG, step_summary(record))
    record_step(metrics, record, cache_hits, cache_misses)


def execute_step(
    cfg: GlovConfig,
    run: RunDir,
    models: Models,
    data: DataBundle,
    state: ArmState,
    metrics: RunMetrics,
) -> dict:
    """Run the arm's next step, persist it and push its metrics (also when it fails)."""
    hits, misses = models.cache_counts()
    try:
        record = run_stages(cfg, models, data, state, metrics)
        new_hits, new_misses = models.cache_counts()
        persist_step(run, metrics, record, new_hits - hits, new_misses - misses)
    finally:
        metrics.push()
    return record
