"""The compile guard: a config whose Argo workflow a cluster refuses is never compiled.

The cases are the ones measured with the KFP 2.17 backend compiler and Argo's
checks (pipelines/limits.py); this test does not need that tool.
"""

from __future__ import annotations

import pytest

from glov.config import load_config
from glov.errors import ConfigError
from pipelines.limits import ARGO_MAX_DAG_TASKS
from pipelines.plan import plan_pipeline
from pipelines.step_groups import group_shape, step_groups


def cfg(steps: int, per_pod: int):
    return load_config("paper-clip", [f"search.steps={steps}", f"pipeline.steps_per_pod={per_pod}"])


@pytest.mark.parametrize(("steps", "per_pod"), [(0, 1), (1, 1), (7, 1), (0, 3), (7, 3), (9, 3)])
def test_group_shape_matches_the_dag(steps, per_pod):
    groups = step_groups(steps, per_pod)
    plain, fused = group_shape(steps, per_pod)
    assert (plain, fused) == (
        sum(not g.fused for g in groups),
        sum(g.fused for g in groups),
    )


@pytest.mark.parametrize(("steps", "per_pod"), [(50, 1), (100, 10), (200, 2), (4, 4)])
def test_configs_the_backend_accepted_pass(steps, per_pod):
    assert plan_pipeline(cfg(steps, per_pod)).estimate.fits


def test_100_steps_one_pod_per_stage_is_refused_for_both_limits():
    with pytest.raises(ConfigError) as err:
        plan_pipeline(cfg(100, 1))
    assert "202 tasks in one DAG" in err.value.problem
    assert "maxSize" in err.value.problem
    assert "pipeline.steps_per_pod=2" in err.value.fix


def test_tasks_per_dag_boundary():
    # 200 steps in pairs: 100 groups, 200 tasks, the most Argo's schema allows.
    assert plan_pipeline(cfg(200, 2)).estimate.dag_tasks == ARGO_MAX_DAG_TASKS
    with pytest.raises(ConfigError) as err:
        plan_pipeline(cfg(201, 2))
    assert "202 tasks in one DAG" in err.value.problem
    assert "bytes" not in err.value.problem  # only the limit it exceeds is named
    assert "pipeline.steps_per_pod=3" in err.value.fix


def test_size_boundary_with_one_pod_per_stage():
    fits = [n for n in range(40, 100) if check_workflow_limits_ok(cfg(n, 1))]
    last = max(fits)
    assert fits == list(range(40, last + 1))  # one boundary, not a patchwork
    # 66 steps measured 985,241 B (accepted), 100 steps 1,461,675 B (refused):
    # the guard stops in between, erring to the safe side.
    assert 55 <= last < 66
    with pytest.raises(ConfigError) as err:
        plan_pipeline(cfg(last + 1, 1))
    assert "bytes of Argo workflow" in err.value.problem
    assert "tasks" not in err.value.problem
    assert "pipeline.steps_per_pod=2" in err.value.fix


def check_workflow_limits_ok(c) -> bool:
    try:
        plan_pipeline(c)
    except ConfigError:
        return False
    return True


def test_compile_writes_nothing_for_a_refused_config(tmp_path):
    from pipelines.compile import compile_pipeline

    with pytest.raises(ConfigError):
        compile_pipeline(plan_pipeline(cfg(100, 1)), tmp_path / "p.yaml")
    assert not (tmp_path / "p.yaml").exists()
