"""pipeline.eval_shards: the shard loops in the compiled YAML, their placement, the guard."""

from __future__ import annotations

import pytest

from components import images
from glov.config import load_config
from glov.errors import ConfigError
from pipelines.limits import estimate
from pipelines.plan import plan_pipeline

SHARDED = ("pipeline.eval_shards=4",)
# Separate pods per stage at a step count a cluster accepts with 4 shards.
SHARDED_STEPS = (*SHARDED, "pipeline.steps_per_pod=1", "search.steps=3")


def _shard_loops(c, component: str | None) -> list[tuple[str, dict, dict]]:
    """(loop task name, loop task, loop body's tasks) of the ParallelFors over a
    compiled list (the shard loops; the loop over arms iterates over a task output)."""
    out = []
    for name, task in c.dag(component).items():
        if "raw" in task.get("parameterIterator", {}).get("items", {}):
            body = c.dag(task["componentRef"]["name"])
            out.append((name, task, body))
    return out


def _assert_shard_loop(c, task: dict, body: dict, component: str) -> None:
    """A loop over shards 0..3, all at once, whose single task is a GPU pod of `component`."""
    assert task["parameterIterator"]["items"]["raw"] == "[0, 1, 2, 3]"
    assert task["iteratorPolicy"]["parallelismLimit"] == 4
    ((name, inner),) = body.items()
    assert name == component
    label = c.components[inner["componentRef"]["name"]]["executorLabel"]
    container = c.executors[label]["container"]
    assert container["image"] == images.gpu_image()
    accelerator = container["resources"]["accelerator"]
    assert accelerator["resourceType"] == "nvidia.com/gpu"
    assert accelerator["resourceCount"] == str(c.cfg.pipeline.vlm_task.accelerators)
    assert c.k8s[label]["nodeSelector"]["labels"] == c.cfg.pipeline.node_selector
    assert c.k8s[label]["tolerations"][0]["key"] == "nvidia.com/gpu"
    # Each shard gets its index and the shard count.
    params = inner["inputs"]["parameters"]
    assert "componentInputParameter" in params["shard"]
    assert params["shards"]["runtimeValue"]["constant"] == 4


def _is_cpu(c, task: dict) -> bool:
    label = c.components[task["componentRef"]["name"]]["executorLabel"]
    container = c.executors[label]["container"]
    return "accelerator" not in container["resources"] and container["image"] == (
        images.cpu_image()
    )


def test_paper_clip_fused_steps_shard_the_final_evaluation_on_gpus(compile_cfg):
    c = compile_cfg("paper-clip", SHARDED)  # 10 steps per pod: steps evaluate in-pod
    root = c.dag()
    assert "final" not in root
    ((name, loop, body),) = _shard_loops(c, None)
    assert loop["taskInfo"]["name"] == "final-shards"
    _assert_shard_loop(c, loop, body, "final-shard")
    assert body["final-shard"]["inputs"]["artifacts"]["plan"]["componentInputArtifact"]
    # The plan (CPU) fixes what the shards score; the report (CPU) merges their counts.
    assert _is_cpu(c, root["final-plan"]) and _is_cpu(c, root["final-report"])
    counts = root["final-report"]["inputs"]["artifacts"]["shard_counts"]
    assert counts["taskOutputArtifact"]["producerTask"] == name
    assert not any(n.startswith("evaluate") for n, _, _ in c.container_tasks())


def test_separate_step_pods_shard_every_steps_evaluation_on_gpus(compile_cfg):
    c = compile_cfg("paper-clip", SHARDED_STEPS)
    groups = [t["componentRef"]["name"] for t in c.loop().values()]
    assert len(groups) == 4  # seed and 3 steps
    for group in groups:
        tasks = c.dag(group)
        assert "evaluate" not in tasks and "rank" not in tasks
        ((name, loop, body),) = _shard_loops(c, group)
        assert loop["taskInfo"]["name"] == "evaluate-shards"
        _assert_shard_loop(c, loop, body, "evaluate-shard")
        # rank merges the collected shard scores, on a CPU pod.
        rank = tasks["rank-shards"]
        assert _is_cpu(c, rank)
        scores = rank["inputs"]["artifacts"]["shard_scores"]
        assert scores["taskOutputArtifact"]["producerTask"] == name
    ((_, final_loop, final_body),) = _shard_loops(c, None)
    _assert_shard_loop(c, final_loop, final_body, "final-shard")


def test_one_shard_compiles_the_unsharded_dag(compile_cfg):
    c = compile_cfg("paper-clip", ("pipeline.steps_per_pod=1", "search.steps=3"))
    names = {n for n, _, _ in c.container_tasks()}
    assert {"evaluate", "rank", "final"} <= names
    assert not names & {"evaluate-shard", "rank-shards", "final-shard", "final-plan"}
    assert _shard_loops(c, None) == []  # only the loop over arms


def test_the_limits_guard_counts_the_shard_loops():
    one = estimate(40, 1, 4000)
    four = estimate(40, 1, 4000, eval_shards=4)
    # Same DAG task count (the shards live in the loop's own DAG), larger workflow,
    # and 4 evaluation pods per step and arm plus the final's 4 at run time.
    assert four.dag_tasks == one.dag_tasks
    assert four.workflow_bytes > one.workflow_bytes + 41 * 5_000
    assert four.shard_tasks == 41 * 4 + 4 and one.shard_tasks == 0
    # Fused pods evaluate in-pod: only the final's shards are added.
    assert estimate(100, 10, 4000, 4).shard_tasks == 4


def _paper(*overrides: str):
    return load_config("paper-clip", list(overrides))


def test_sharded_size_boundary():
    # Measured with the KFP 2.17 backend compiler: 43 steps with 4 shards 948,746 B
    # (accepted); the guard allows 43 and refuses 44 (~1.0 MB, within 5% of maxSize).
    plan_pipeline(_paper(*SHARDED, "pipeline.steps_per_pod=1", "search.steps=43"))
    with pytest.raises(ConfigError) as err:
        plan_pipeline(_paper(*SHARDED, "pipeline.steps_per_pod=1", "search.steps=44"))
    assert "pipeline.eval_shards=4" in err.value.problem
    assert "bytes of Argo workflow" in err.value.problem
    assert "lower search.steps to 43" in err.value.fix
    assert "pipeline.steps_per_pod=2" in err.value.fix
    # Unsharded, 44 steps fit.
    plan_pipeline(_paper("pipeline.steps_per_pod=1", "search.steps=44"))


@pytest.mark.parametrize("bad", ["0", "65", "two"])
def test_eval_shards_out_of_range_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="eval_shards"):
        _paper(f"pipeline.eval_shards={bad}")
