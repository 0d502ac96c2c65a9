"""A paper-clip-sized run against the real Pushgateway: one group per arm, run totals, expiry.

Steps run in "pods" of 10 steps as the pipeline's fused tasks do: each pod a
fresh recorder built by the run layer (glov.runs.telemetry) from the run
directory, every step persisted with the real persist_step, then pushed. Step
records are synthetic; no model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from glov.config import load_config
from glov.metrics import RunMetrics
from glov.runs.execute import persist_step
from glov.runs.rundir import RunDir
from glov.runs.telemetry import arm_metrics, record_final, record_step, run_metrics
from glov.search.arms import arms_for
from tests.servers.prometheus import ensure_installed, http_get, start_pushgateway

RUN = "paper-clip-run"
DATASET = "animal-mnist"
RETRIED_STEP = 55
STEPS_PER_POD = 10  # the fused task's chunks; a pod per step would only be slower


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ensure_installed()
    server = start_pushgateway(tmp_path_factory.mktemp("pushgateway"))
    try:
        yield server.address
    finally:
        server.stop()


def groups(gateway: str) -> list[dict]:
    """The Pushgateway's groups of job glov, with each metric's samples."""
    data = json.loads(http_get(f"http://{gateway}/api/v1/metrics"))["data"]
    return [g for g in data if g["labels"]["job"] == "glov"]


def value(group: dict, metric: str, **labels: str) -> float:
    (sample,) = [
        s
        for s in group[metric]["metrics"]
        if all(s["labels"].get(k) == v for k, v in labels.items())
    ]
    return float(sample["value"])


def synthetic_record(arm: str, step: int) -> dict:
    # Step 0 scores the seed template; later steps sample 10 answers, reject 3.
    generated, rejected = (0, {}) if step == 0 else (10, {"empty": 2, "duplicate": 1})
    fitness = 0.3 + step / 400
    return {
        "step": step,
        "arm": arm,
        "scored": [{"template": "a photo of a {}.", "fitness": fitness}] * (generated - 3 or 1),
        "generated": generated,
        "rejected": rejected,
        "repaired": 1 if step % 10 == 0 else 0,
        "llm": {"new_tokens": 40 * generated, "prompt_tokens": 300, "seconds": generated / 5},
        "step_best": fitness,
        "best": {"template": "a photo of a {}.", "fitness": fitness},
        "guidance": {"norm": 1.5} if arm.startswith("glov") and step > 1 else {},
        "time": time.time(),
    }


@pytest.fixture(scope="module")
def finished_run(gateway: str, tmp_path_factory: pytest.TempPathFactory):
    cfg = load_config("paper-clip", [f"metrics.pushgateway={gateway}"])
    run, cfg = RunDir.open(str(tmp_path_factory.mktemp("store")), RUN, cfg)
    arms = arms_for(cfg)
    assert len(arms) >= 4 and cfg.search.steps == 100
    pods: dict[str, RunMetrics] = {}
    for step in range(cfg.search.steps + 1):
        for arm in arms:
            if step % STEPS_PER_POD == 0:  # a fresh pod, as for each fused task
                pods[arm.name] = arm_metrics(cfg, run, arm, DATASET, "kfp")
            pod = pods[arm.name]
            for stage in ("generate", "evaluate", "rank"):
                with pod.stage(stage):
                    pass
            persist_step(run, pod, synthetic_record(arm.name, step), cache_hits=3, cache_misses=1)
            assert pod.push()
            if step == RETRIED_STEP:
                # The pod is retried after its push: the retry finds the step
                # recorded, records and pushes it again.
                retry = arm_metrics(cfg, run, arm, DATASET, "kfp")
                record_step(retry, run.steps(arm.name)[step], 0, 0)
                assert retry.push()
    during = groups(gateway)
    report = {
        "arms": {a.name: {"test_best": 0.8, "test_top_n": 0.81} for a in arms},
        "baselines": {"s_temp": {"test": 0.6}, "ds_temp": {"test": 0.7}},
    }
    for arm, metrics in zip(arms, run_metrics(cfg, run, DATASET, "kfp"), strict=True):
        with metrics.stage("final"):
            record_final(metrics, report, arm.name)
        assert metrics.push()
    return cfg, run, arms, during


def test_a_paper_clip_run_leaves_one_group_per_arm(finished_run, gateway):
    cfg, run, arms, during = finished_run
    for state in (during, groups(gateway)):
        assert sorted(g["labels"]["arm"] for g in state) == sorted(a.name for a in arms)
        assert all(set(g["labels"]) == {"job", "run", "arm"} for g in state)
    # A bounded number of series per group, independent of the number of steps.
    series = sum(len(m["metrics"]) for g in groups(gateway) for k, m in g.items() if "glov_" in k)
    assert series < 50 * len(arms), series


def test_counters_are_run_totals_counted_once(finished_run, gateway):
    cfg, run, arms, _ = finished_run
    by_arm = {g["labels"]["arm"]: g for g in groups(gateway)}
    for arm in arms:
        records = run.steps(arm.name)
        group = by_arm[arm.name]
        # Step RETRIED_STEP was pushed twice by two pods: still counted once.
        assert value(group, "glov_steps_completed_total") == len(records) == 101
        assert value(group, "glov_candidates_generated_total") == 1000
        assert value(group, "glov_candidates_rejected_total", reason="empty") == 200
        assert value(group, "glov_candidates_repaired_total") == 11
        assert value(group, "glov_candidates_evaluated_total") == sum(
            len(r["scored"]) for r in records
        )
        assert value(group, "glov_llm_generated_tokens_total") == 40_000
        assert value(group, "glov_current_step") == 100
        assert value(group, "glov_best_fitness_ratio") == records[-1]["best"]["fitness"]
        # The final pod's own process series; the labels name the LLM.
        assert value(group, "glov_stage_duration_seconds", stage="final") >= 0
        assert value(group, "glov_final_accuracy_ratio", variant="best") == 0.8
        (sample,) = group["glov_current_step"]["metrics"]
        assert sample["labels"]["llm"] == "meta-llama/Meta-Llama-3-8B-Instruct"
        assert sample["labels"]["model"] == "ViT-B-32"


def test_finished_groups_stay_for_the_ttl_then_expire(finished_run, gateway, tmp_path: Path):
    cfg, *_ = finished_run
    # A run that died mid-way, and a group of another job that is never ours to delete.
    dead = RunMetrics(
        cfg.metrics, run="dead-run", pipeline="kfp", method="glov", dataset=DATASET,
        model="ViT-B-32", llm="smollm2", arm="glov-alpha1",
    )  # fmt: skip
    with dead.stage("data"):
        pass
    assert dead.push()
    other_job = RunMetrics(
        cfg.metrics.model_copy(update={"job": "other"}), run=RUN, pipeline="kfp",
        method="glov", dataset=DATASET, model="ViT-B-32", llm="smollm2",
    )  # fmt: skip
    assert other_job.push()

    def sweep_at(offset: float) -> set[str]:
        now = time.time() + offset
        m = RunMetrics(cfg.metrics, **dict(dead.identity, run="sweeper"), clock=lambda: now)
        return {g["run"] for g in m.expire_old_groups()}

    assert sweep_at(0) == set()  # just finished: Prometheus still has to scrape it
    assert {g["labels"]["run"] for g in groups(gateway)} == {RUN, "dead-run"}
    assert sweep_at(cfg.metrics.finished_ttl_seconds + 60) == {RUN}
    assert {g["labels"]["run"] for g in groups(gateway)} == {"dead-run"}
    assert sweep_at(cfg.metrics.abandoned_ttl_seconds + 60) == {"dead-run"}
    assert groups(gateway) == []
    data = json.loads(http_get(f"http://{gateway}/api/v1/metrics"))["data"]
    assert [g["labels"]["job"] for g in data] == ["other"]
