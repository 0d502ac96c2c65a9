"""The GLOV optimisation loop in one process (paper Alg. 1).

Per arm: step 0 scores the seed template; every later step builds the
meta-prompt from the history, samples K candidates (steered for `glov` once
guidance is on), scores them and ranks them into the history. Each finished
step is appended to the run directory before the next starts, so an
interrupted run resumes at the next step and never redoes a finished one.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING

from glov.config import GlovConfig
from glov.data import DataBundle
from glov.metrics import RunMetrics
from glov.runs.execute import execute_step
from glov.runs.finish import finish_run
from glov.runs.inputs import load_or_prepare_data
from glov.runs.loaded_models import Models
from glov.runs.rundir import RunDir
from glov.runs.telemetry import arm_metrics, record_data_stage, run_metrics
from glov.search.arms import Arm, arms_for
from glov.search.state import ArmState, replay

if TYPE_CHECKING:
    from tqdm import tqdm

log = logging.getLogger(__name__)

# The `pipeline` label of the series this loop pushes.
PIPELINE_LABEL = "in-process"


def run_arm(
    cfg: GlovConfig,
    run: RunDir,
    models: Models,
    data: DataBundle,
    arm: Arm,
    bar: tqdm | None = None,
    metrics: RunMetrics | None = None,
) -> ArmState:
    """Run (or resume) one arm up to search.steps (metrics: the arm's recorder)."""
    step_log = run.step_log(arm.name)
    if step_log.problem is not None:
        log.warning(
            "%s; this run redoes step %d, keeping the finished steps as stored",
            step_log.problem.problem,
            len(step_log.records),
        )
    done = step_log.records
    state = replay(arm, done, cfg.guidance.negative)
    if len(done) > cfg.search.steps + 1:
        log.warning(
            "arm %s has %d finished steps, more than search.steps=%d: they are kept and "
            "the report names each arm's steps",
            arm.name,
            len(done) - 1,
            cfg.search.steps,
        )
    elif done:
        log.info("arm %s: resuming after step %d", arm.name, state.next_step - 1)
    metrics = metrics or arm_metrics(cfg, run, arm, data.name, PIPELINE_LABEL)
    while state.next_step <= cfg.search.steps:
        record = execute_step(cfg, run, models, data, state, metrics)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(arm=arm.name, best=f"{record['best']['fitness']:.3f}")
    return state


def run_search(cfg: GlovConfig, run: RunDir, models: Models | None = None) -> dict:
    """Run (or resume) every arm of the run, then the final evaluation and report."""
    models = models or Models(cfg, run=run)
    started = time.perf_counter()
    data = load_or_prepare_data(cfg, run)
    # One recorder per arm for the whole run, so the data and final stages
    # stay in the groups next to the steps this process pushes.
    recorders = run_metrics(cfg, run, data.name, PIPELINE_LABEL)
    record_data_stage(recorders, time.perf_counter() - started)
    arms = arms_for(cfg)
    total = len(arms) * (cfg.search.steps + 1)
    finished = sum(min(len(run.steps(a.name)), cfg.search.steps + 1) for a in arms)
    bar = _progress(cfg, total, finished)
    with bar if bar is not None else nullcontext():
        for arm, metrics in zip(arms, recorders, strict=True):
            run_arm(cfg, run, models, data, arm, bar, metrics)
    return finish_run(cfg, run, models.scorer, data, PIPELINE_LABEL, recorders)


def _progress(cfg: GlovConfig, total: int, initial: int) -> tqdm | None:
    if not cfg.run.progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="GLOV steps", unit="step")
