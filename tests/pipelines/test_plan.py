"""The pipeline's plan: the one place its shape is decided, read by the DAG builder,
the limits guard and the description, and refused before anything is written."""

from __future__ import annotations

import pytest

from cli.main import main
from glov.config import load_config
from glov.errors import ConfigError
from pipelines import limits
from pipelines.plan import plan_pipeline


@pytest.mark.parametrize(
    ("overrides", "groups", "sharded_steps", "sharded_final", "sentence"),
    [
        (["search.steps=3", "pipeline.steps_per_pod=1"], 4, False, False, ""),
        (
            ["search.steps=3", "pipeline.steps_per_pod=1", "pipeline.eval_shards=4"],
            4,
            True,
            True,
            "VLM evaluation (each step's and the final) split over 4 pods. ",
        ),
        # Fused pods evaluate in-pod: only the final test evaluation shards.
        (
            ["search.steps=5", "pipeline.steps_per_pod=2", "pipeline.eval_shards=2"],
            3,
            False,
            True,
            "VLM evaluation (the final test) split over 2 pods. ",
        ),
    ],
)
def test_the_plan_says_which_evaluations_shard(
    overrides, groups, sharded_steps, sharded_final, sentence
):
    plan = plan_pipeline(load_config("paper-clip", overrides))
    assert len(plan.groups) == groups == plan.estimate.groups
    assert (plan.sharded_steps, plan.sharded_final) == (sharded_steps, sharded_final)
    assert plan.describe_shards() == sentence


def test_an_objective_that_cannot_shard_is_refused_by_the_plan():
    cfg = load_config("paper-safety", ["pipeline.eval_shards=2"])
    with pytest.raises(ConfigError, match="objective.kind=safety does not shard") as err:
        plan_pipeline(cfg)
    assert err.value.fix == "set pipeline.eval_shards=1"
    assert plan_pipeline(load_config("paper-safety")).eval_shards == 1


def test_compile_checks_the_limits_once(tmp_path, monkeypatch, capsys):
    calls = []
    check = limits.check_workflow_limits

    def counting(*args, **kwargs):
        calls.append(args)
        return check(*args, **kwargs)

    monkeypatch.setattr("pipelines.plan.check_workflow_limits", counting)
    out = tmp_path / "p.yaml"
    overrides = ["--set", "search.steps=2", "--set", "pipeline.steps_per_pod=1"]
    assert main(["compile", "--config", "smoke", *overrides, "-o", str(out)]) == 0
    assert out.is_file() and len(calls) == 1
    assert "3 sub-DAGs per arm" in capsys.readouterr().out


def test_a_refused_plan_leaves_no_file(tmp_path, capsys):
    out = tmp_path / "p.yaml"
    args = ["--set", "pipeline.eval_shards=2", "-o", str(out)]
    assert main(["compile", "--config", "paper-safety", *args]) == 2
    assert "does not shard" in capsys.readouterr().err and not out.exists()
