"""What a Kubeflow cluster accepts: the compiled workflow's size and its tasks per DAG.

The KFP API server compiles the pipeline YAML into one Argo Workflow, which
must pass two limits that `kfp` itself never checks:

- the Argo workflow controller refuses a workflow whose JSON exceeds 1,048,576
  bytes ("workflow is longer than maximum allowed size ... maxSize 1048576"),
  the default of its max-size setting;
- Argo's full Workflow CRD schema (a standard Argo install) allows at most 200
  tasks in one DAG.

Every arm's steps are one DAG (the body of the ParallelFor over arms): each step
group (`seed`, `step-01`, ..., or `steps-00-04` fused) is two Argo tasks there,
its driver and its sub-DAG. The workflow grows linearly in the step groups; a
step group with separate generate, evaluate and rank pods costs about twice a
fused one. The constants below were measured with the KFP 2.17.0 backend
compiler and Argo v4.0.5's checks (the backend-check tool CI runs) on the
paper-clip profile, whose placement settings make the largest tasks (smoke's
are smaller: 60 steps, 61 groups gave 888,043 B):

    steps  steps_per_pod  groups  workflow JSON   tasks in one DAG
    50     1              51        762,055 B     102
    66     1              67        985,241 B     134
    100    1              101     1,461,675 B     202   refused: size and tasks
    100    10             10        110,863 B      20
    200    2              100       711,919 B     200
    202    2              101       718,609 B     202   refused: tasks
    50     1 (*)          51        787,306 B     102

(*) after the sub-DAG and run-parameter descriptions were added: +495 B per
group. Fitted: 48,500 B + 14,500 B per separate-pod group (6,700 B fused).
The shared-models task between data prep and the arms adds 5,482 B to the base
(50 steps, one pod per stage: 789,449 B without it, 794,931 B with it).

Sharded evaluation (pipeline.eval_shards = N > 1) puts a ParallelFor over
the shard indices into every separate-pod step group, and a final plan, a
ParallelFor of final shards and a final report in place of `final`:

    steps  steps_per_pod  eval_shards  workflow JSON   tasks in one DAG
    20     1              1              358,642 B      42
    40     1              1              644,682 B      82
    20     1              4              494,036 B      42
    40     1              4              889,436 B      82
    20     1              64             509,614 B      42
    100    10             1              120,490 B      20
    100    10             4              140,516 B      20

A sharded step group costs 5,470 B more (19,770 B), the sharded final 20,000 B
more; N itself adds ~12 B per loop (the compiled item list): the shard tasks
are expanded when the run reaches the loop, not at compile time, and live in
the loop's own DAG, so the arm DAG keeps 2 tasks per group. At run time each
step of each arm starts N evaluation pods (and the final N), which the
estimate reports as `shard_tasks`.
The estimate rounds each constant up, adds the config's text (it travels in
the workflow), and keeps 5% of the size limit free. Recalibrate when the
components grow: compile a few configs, run check.sh on them, refit.
"""

from __future__ import annotations

from dataclasses import dataclass

from glov.errors import ConfigError
from pipelines.step_groups import group_shape

ARGO_MAX_WORKFLOW_BYTES = 1_048_576
ARGO_MAX_DAG_TASKS = 200
ARGO_TASKS_PER_GROUP = 2  # a sub-DAG's driver and the sub-DAG itself

# Calibrated constants (see the module docstring), rounded up.
BASE_BYTES = 56_000  # data prep, shared models, the arm loop, final, run parameters, components
STEP_GROUP_BYTES = 15_000  # one step with generate, evaluate and rank pods
FUSED_GROUP_BYTES = 8_000  # one fused pod running several steps
SHARD_LOOP_BYTES = 5_500  # a step group's ParallelFor over evaluation shards
FINAL_SHARDS_BYTES = 21_000  # final plan, the final shards' loop, final report
SHARD_ITEM_BYTES = 15  # one shard index in a compiled loop's item list
CONFIG_COPIES = 2  # the config text, JSON-escaped, with room for a second copy
SIZE_BUDGET = 0.95  # share of the controller's limit the estimate may use


@dataclass(frozen=True)
class WorkflowEstimate:
    groups: int
    dag_tasks: int
    workflow_bytes: int
    # Evaluation pods one arm starts over the run beyond the unsharded DAG's:
    # N per separate-pod step, plus the final's N (shared by the arms).
    shard_tasks: int = 0

    @property
    def too_many_tasks(self) -> bool:
        return self.dag_tasks > ARGO_MAX_DAG_TASKS

    @property
    def too_large(self) -> bool:
        return self.workflow_bytes > SIZE_BUDGET * ARGO_MAX_WORKFLOW_BYTES

    @property
    def fits(self) -> bool:
        return not (self.too_many_tasks or self.too_large)


def estimate(
    steps: int, steps_per_pod: int, config_bytes: int = 0, eval_shards: int = 1
) -> WorkflowEstimate:
    """The compiled Argo workflow's size and largest DAG for this many steps
    (`config_bytes`: the config's YAML, which the workflow carries; `eval_shards`:
    pipeline.eval_shards, the evaluation pods of a separate-pod step and of the final)."""
    plain, fused = group_shape(steps, steps_per_pod)
    groups = plain + fused
    size = BASE_BYTES + CONFIG_COPIES * config_bytes
    size += plain * STEP_GROUP_BYTES + fused * FUSED_GROUP_BYTES
    shard_tasks = 0
    if eval_shards > 1:
        loop = SHARD_LOOP_BYTES + SHARD_ITEM_BYTES * eval_shards
        size += plain * loop + FINAL_SHARDS_BYTES + SHARD_ITEM_BYTES * eval_shards
        shard_tasks = (plain + 1) * eval_shards
    return WorkflowEstimate(groups, groups * ARGO_TASKS_PER_GROUP, size, shard_tasks)


def smallest_fitting_steps_per_pod(
    steps: int, config_bytes: int = 0, eval_shards: int = 1
) -> int | None:
    """The fewest steps per pod whose workflow fits both limits (None: none does)."""
    for k in range(1, max(steps, 1) + 1):
        if estimate(steps, k, config_bytes, eval_shards).fits:
            return k
    return None


def check_workflow_limits(steps: int, k: int, shards: int, config_bytes: int) -> WorkflowEstimate:
    """Refuse a pipeline whose compiled workflow a cluster would refuse; the estimate.

    `steps`, `k`, `shards`: search.steps, pipeline.steps_per_pod and
    pipeline.eval_shards; `config_bytes`: the config's YAML. pipelines/plan.py
    calls this once per pipeline it plans.
    """
    est = estimate(steps, k, config_bytes, shards)
    if est.fits:
        return est
    reasons = []
    if est.too_many_tasks:
        reasons.append(
            f"{est.dag_tasks} tasks in one DAG ({est.groups} step groups x "
            f"{ARGO_TASKS_PER_GROUP}), more than the {ARGO_MAX_DAG_TASKS} Argo's Workflow "
            "schema allows"
        )
    if est.too_large:
        reasons.append(
            f"about {est.workflow_bytes:,} bytes of Argo workflow, more than the "
            f"{int(SIZE_BUDGET * ARGO_MAX_WORKFLOW_BYTES):,} this guard allows under the "
            f"workflow controller's limit of {ARGO_MAX_WORKFLOW_BYTES:,} (maxSize)"
        )
    fitting = smallest_fitting_steps_per_pod(steps, config_bytes, shards)
    fix = (
        f"set pipeline.steps_per_pod={fitting} or more (steps per pod), or fewer search.steps"
        if fitting is not None
        else "lower search.steps"
    )
    if shards > 1 and k == 1:
        # Fused pods evaluate their steps in-pod: a larger steps_per_pod keeps only
        # the final evaluation sharded, so name the step count that keeps both.
        most = max(
            (n for n in range(steps) if estimate(n, 1, config_bytes, shards).fits), default=0
        )
        fix = f"lower search.steps to {most} or fewer to keep every step's evaluation sharded"
        if fitting is not None:
            fix += (
                f", or set pipeline.steps_per_pod={fitting} or more (fused pods evaluate "
                "their steps in-pod: only the final evaluation stays sharded)"
            )
    with_shards = f" and pipeline.eval_shards={shards}" if shards > 1 else ""
    raise ConfigError(
        f"search.steps={steps} with pipeline.steps_per_pod={k}{with_shards} compiles to a "
        f"workflow a Kubeflow cluster refuses: {'; and '.join(reasons)}",
        fix,
    )
