"""The pipeline's shape, decided once from the config: the one plan the DAG builder
(glov_pipeline.py), the limits guard (limits.py) and the description read.

- step groups: the seed and every step as its own sub-DAG (pipeline.steps_per_pod
  = 1: generate, evaluate and rank pods), or k consecutive steps fused into one
  pod (`steps-00-02`, ...; the seed joins the first group);
- which evaluations shard over pipeline.eval_shards pods: every separate-pod
  step's, and the final test evaluation; fused pods evaluate their steps in-pod,
  so with them only the final evaluation shards;
- whether the objective can shard at all (glov.config.kinds: safety cannot yet);
- the estimate of the compiled workflow against Argo's limits.

Every plan has one shared-models task between data prep and the arms (it
converts the GGUF LLM and trains the `build://` VLM once per run): llm_model
and vlm_pretrained are run parameters, so whether a run needs either is known
only when it starts, and the task does nothing when it needs neither.

plan_pipeline refuses a config the pipeline cannot run, before anything is
compiled, written or created.
"""

from __future__ import annotations

from dataclasses import dataclass

from glov.config import GlovConfig, config_to_yaml
from glov.errors import ConfigError
from pipelines.limits import WorkflowEstimate, check_workflow_limits
from pipelines.step_groups import StepGroup, step_groups


@dataclass(frozen=True)
class PipelinePlan:
    cfg: GlovConfig
    groups: tuple[StepGroup, ...]
    # VLM evaluation pods of a sharded evaluation (1: no sharding).
    eval_shards: int
    # Separate-pod steps evaluate over the shards (fused pods evaluate in-pod).
    sharded_steps: bool
    # The final test evaluation runs over the shards.
    sharded_final: bool
    estimate: WorkflowEstimate

    def describe_shards(self) -> str:
        """The description's sentence on sharding ("" when nothing shards)."""
        if not self.sharded_final:
            return ""
        what = "each step's and the final" if self.sharded_steps else "the final test"
        return f"VLM evaluation ({what}) split over {self.eval_shards} pods. "


def plan_pipeline(cfg: GlovConfig) -> PipelinePlan:
    """The pipeline's shape for `cfg`; a ConfigError for a config it cannot run."""
    shards = cfg.pipeline.eval_shards
    objective = cfg.objective_kind
    if shards > 1 and not objective.shards:
        raise ConfigError(
            f"objective.kind={objective.name} does not shard its evaluation yet (the "
            "per-subset final evaluation runs in one pod)",
            "set pipeline.eval_shards=1",
        )
    groups = step_groups(cfg.search.steps, cfg.pipeline.steps_per_pod)
    estimate = check_workflow_limits(
        cfg.search.steps,
        cfg.pipeline.steps_per_pod,
        shards,
        config_bytes=len(config_to_yaml(cfg).encode()),
    )
    return PipelinePlan(
        cfg=cfg,
        groups=groups,
        eval_shards=shards,
        sharded_steps=shards > 1 and not any(g.fused for g in groups),
        sharded_final=shards > 1,
        estimate=estimate,
    )
