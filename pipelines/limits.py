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
compiler and Argo v4.0.5's checks (../shared/tools/kfp-backend-check) on the
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
The estimate rounds each constant up, adds the config's text (it travels in
the workflow), and keeps 5% of the size limit free. Recalibrate when the
components grow: compile a few configs, run check.sh on them, refit.
"""

from __future__ import annotations

from dataclasses import dataclass

from glov.config import GlovConfig, config_to_yaml
from glov.errors import ConfigError

ARGO_MAX_WORKFLOW_BYTES = 1_048_576
ARGO_MAX_DAG_TASKS = 200
ARGO_TASKS_PER_GROUP = 2  # a sub-DAG's driver and the sub-DAG itself

# Calibrated constants (see the module docstring), rounded up.
BASE_BYTES = 50_000  # data prep, the arm loop, final, run parameters, components
STEP_GROUP_BYTES = 15_000  # one step with generate, evaluate and rank pods
FUSED_GROUP_BYTES = 8_000  # one fused pod running several steps
CONFIG_COPIES = 2  # the config text, JSON-escaped, with room for a second copy
SIZE_BUDGET = 0.95  # share of the controller's limit the estimate may use


@dataclass(frozen=True)
class WorkflowEstimate:
    groups: int
    dag_tasks: int
    workflow_bytes: int

    @property
    def too_many_tasks(self) -> bool:
        return self.dag_tasks > ARGO_MAX_DAG_TASKS

    @property
    def too_large(self) -> bool:
        return self.workflow_bytes > SIZE_BUDGET * ARGO_MAX_WORKFLOW_BYTES

    @property
    def fits(self) -> bool:
        return not (self.too_many_tasks or self.too_large)


def group_shape(steps: int, steps_per_pod: int) -> tuple[int, int]:
    """(separate-pod step groups, fused step groups) of one arm, as step_groups builds them."""
    if steps_per_pod == 1:
        return steps + 1, 0  # the seed and every step
    # The seed joins the first group; then steps_per_pod steps per group.
    return 0, max(1, -(-steps // steps_per_pod))


def estimate(steps: int, steps_per_pod: int, config_bytes: int = 0) -> WorkflowEstimate:
    """The compiled Argo workflow's size and largest DAG for this many steps
    (`config_bytes`: the config's YAML, which the workflow carries)."""
    plain, fused = group_shape(steps, steps_per_pod)
    groups = plain + fused
    size = BASE_BYTES + CONFIG_COPIES * config_bytes
    size += plain * STEP_GROUP_BYTES + fused * FUSED_GROUP_BYTES
    return WorkflowEstimate(groups, groups * ARGO_TASKS_PER_GROUP, size)


def smallest_fitting_steps_per_pod(steps: int, config_bytes: int = 0) -> int | None:
    """The fewest steps per pod whose workflow fits both limits (None: none does)."""
    for k in range(1, max(steps, 1) + 1):
        if estimate(steps, k, config_bytes).fits:
            return k
    return None


def check_workflow_limits(cfg: GlovConfig) -> WorkflowEstimate:
    """Refuse a config whose compiled workflow a cluster would refuse; the estimate."""
    steps, k = cfg.search.steps, cfg.pipeline.steps_per_pod
    config_bytes = len(config_to_yaml(cfg).encode())
    est = estimate(steps, k, config_bytes)
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
    fitting = smallest_fitting_steps_per_pod(steps, config_bytes)
    fix = (
        f"set pipeline.steps_per_pod={fitting} or more (steps per pod), or fewer search.steps"
        if fitting is not None
        else "lower search.steps"
    )
    raise ConfigError(
        f"search.steps={steps} with pipeline.steps_per_pod={k} compiles to a workflow a "
        f"Kubeflow cluster refuses: {'; and '.join(reasons)}",
        fix,
    )
