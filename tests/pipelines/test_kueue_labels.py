"""Kueue labels compiled into the pipeline's pod metadata (pipeline.kueue)."""

from __future__ import annotations

import pytest

from glov.config import load_config
from glov.errors import GlovError
from pipelines.placement import KUEUE_PRIORITY_LABEL, KUEUE_QUEUE_LABEL

QUEUED = ("pipeline.kueue.queue_name=glov-gpu", "pipeline.kueue.priority_class=glov-batch")
# Both GPU kinds (fused LLM steps, sharded VLM evaluation) and the CPU tasks between.
SHAPE = ("search.steps=2", "pipeline.steps_per_pod=2", "pipeline.eval_shards=2")


def labels_by_task(compiled) -> dict[str, tuple[bool, dict]]:
    """task name -> (requests a GPU, its pod labels)."""
    out = {}
    for name, _, label in compiled.container_tasks():
        resources = compiled.executors[label]["container"]["resources"]
        labels = compiled.k8s[label].get("podMetadata", {}).get("labels", {})
        out[name] = ("accelerator" in resources, labels)
    return out


def test_gpu_tasks_carry_the_queue_and_priority_cpu_tasks_do_not(compile_cfg):
    tasks = labels_by_task(compile_cfg("paper-clip", (*SHAPE, *QUEUED)))
    gpu = {n for n, (has_gpu, _) in tasks.items() if has_gpu}
    assert {"fused-step", "final-shard"} <= gpu, tasks.keys()
    for name, (has_gpu, labels) in tasks.items():
        queued = {k: v for k, v in labels.items() if k.startswith("kueue.x-k8s.io/")}
        if has_gpu:
            assert queued == {KUEUE_QUEUE_LABEL: "glov-gpu", KUEUE_PRIORITY_LABEL: "glov-batch"}
        else:
            assert queued == {}, name
        assert labels["app.kubernetes.io/part-of"] == "glov"


def test_all_pods_queues_cpu_tasks_too(compile_cfg):
    tasks = labels_by_task(
        compile_cfg(
            "paper-clip", (*SHAPE, "pipeline.kueue.queue_name=glov", "pipeline.kueue.all_pods=true")
        )
    )
    assert any(not gpu for gpu, _ in tasks.values())
    for name, (_, labels) in tasks.items():
        assert labels[KUEUE_QUEUE_LABEL] == "glov", name
        assert KUEUE_PRIORITY_LABEL not in labels


def test_no_queue_no_kueue_labels(compile_cfg):
    for name, (_, labels) in labels_by_task(compile_cfg("paper-clip", SHAPE)).items():
        assert not [k for k in labels if k.startswith("kueue.x-k8s.io/")], name


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        (["pipeline.kueue.priority_class=glov-batch"], "needs pipeline.kueue.queue_name"),
        (["pipeline.kueue.queue_name=Team_A"], "pipeline.kueue.queue_name"),
        (["pipeline.kueue.queue_name=" + "q" * 64], "pipeline.kueue.queue_name"),
    ],
)
def test_bad_kueue_settings_are_config_errors(overrides, problem):
    with pytest.raises(GlovError, match=problem.replace(".", r"\.")):
        load_config("paper-clip", overrides)
