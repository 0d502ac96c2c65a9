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
from pathlib import Path

from glov import stages
from glov.arms import Arm, arms_for
from glov.config import GlovConfig
from glov.databundle import DataBundle, prepare_bundle
from glov.resolve import with_local_inputs
from glov.rundir import RunDir
from glov.step_metrics import arm_metrics, record_final, record_step

log = logging.getLogger(__name__)


def cache_dir(cfg: GlovConfig) -> Path:
    return Path(cfg.run.cache_dir).expanduser()


def load_or_prepare_data(cfg: GlovConfig, run: RunDir) -> DataBundle:
    """The run's data.json, written by the first stage that needs it.

    A pod that starts on an empty disk re-materialises the dataset (packaged or
    fetched from s3://) into the same deterministic local path first.
    """
    if run.has("data.json"):
        bundle = DataBundle.from_json(run.read_json("data.json"))
        if not Path(bundle.fitness.paths[0]).exists():
            prepare_bundle(with_local_inputs(cfg).data, cache_dir(cfg))
        return bundle
    bundle = prepare_bundle(with_local_inputs(cfg).data, cache_dir(cfg))
    run.write_json("data.json", bundle.to_json())
    return bundle


def shared_feature_cache(cfg: GlovConfig, run: RunDir | None):
    """Image features also go to the run store when it is remote (pods share them)."""
    if run is None or run.store.local_path("") is not None:
        return None
    from glov.vlm.store_cache import StoreFeatureCache

    # Beside the run directories, under the same root: shared by every run there.
    root = getattr(run.store, "inner", run.store)
    return StoreFeatureCache(root.child("_cache/features"))


class Models:
    """Loads the VLM scorer and the optimizer LLM once, on first use."""

    def __init__(self, cfg: GlovConfig, scorer=None, llm=None, run: RunDir | None = None):
        self.cfg = cfg
        self.run = run
        self._scorer = scorer
        self._llm = llm
        self.vectors: dict = {}

    @property
    def scorer(self):
        if self._scorer is None:
            from glov.vlm.clip import ClipScorer

            vlm = with_local_inputs(self.cfg).vlm
            shared = shared_feature_cache(self.cfg, self.run)
            self._scorer = ClipScorer(vlm, cache_dir(self.cfg), shared)
        return self._scorer

    @property
    def llm(self):
        if self._llm is None:
            from glov.llm.loader import load_llm

            self._llm = load_llm(with_local_inputs(self.cfg).llm, cache_dir(self.cfg))
        return self._llm


def run_step(
    cfg: GlovConfig, models: Models, data: DataBundle, state: stages.ArmState, metrics=None
) -> dict:
    stage = metrics.stage if metrics is not None else (lambda name: nullcontext())
    step = state.next_step
    with stage("generate"):
        if step == 0:
            generation = stages.seed_generation(cfg)
        else:
            generation = stages.generate(
                cfg, models.llm, state, step, data.name, data.description, models.vectors
            )
    t0 = time.perf_counter()
    with stage("evaluate"):
        fitnesses = stages.evaluate(
            models.scorer, generation.templates, data.fitness, data.classnames
        )
    with stage("rank"):
        return stages.rank(cfg, state, step, generation, fitnesses, time.perf_counter() - t0)


def run_arm(
    cfg: GlovConfig, run: RunDir, models: Models, data: DataBundle, arm: Arm, bar=None
) -> stages.ArmState:
    done = run.steps(arm.name)
    state = stages.replay(arm, done, cfg.guidance.negative)
    if done:
        log.info("arm %s: resuming after step %d", arm.name, state.next_step - 1)
    metrics = arm_metrics(cfg, run.run_id, arm, data.name, pipeline="in-process")
    while state.next_step <= cfg.search.steps:
        hits, misses = _cache_counts(models)
        try:
            record = run_step(cfg, models, data, state, metrics)
            run.append_step(arm.name, record)
            new_hits, new_misses = _cache_counts(models)
            record_step(metrics, record, new_hits - hits, new_misses - misses)
        finally:
            metrics.push(state.next_step - 1 if state.next_step else 0)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(arm=arm.name, best=f"{record['best']['fitness']:.3f}")
    return state


def _cache_counts(models: Models) -> tuple[int, int]:
    scorer = models.scorer
    return scorer.cache_hits, scorer.cache_misses


def run_search(cfg: GlovConfig, run: RunDir, models: Models | None = None) -> dict:
    """Run (or resume) every arm of the run, then the final evaluation and report."""
    from glov.report import write_report

    models = models or Models(cfg, run=run)
    data = load_or_prepare_data(cfg, run)
    arms = arms_for(cfg)
    total = len(arms) * (cfg.search.steps + 1)
    finished = sum(min(len(run.steps(a.name)), cfg.search.steps + 1) for a in arms)
    bar = _progress(cfg, total, finished)
    with bar if bar is not None else nullcontext():
        for arm in arms:
            run_arm(cfg, run, models, data, arm, bar)
    report = write_report(cfg, run, models.scorer, data)
    for arm in arms:
        metrics = arm_metrics(cfg, run.run_id, arm, data.name, pipeline="in-process")
        record_final(metrics, report, arm.name)
        metrics.push("final")
    return report


def _progress(cfg: GlovConfig, total: int, initial: int):
    if not cfg.run.progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="GLOV steps", unit="step")
