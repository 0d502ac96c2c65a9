"""The step groups of one arm: the sub-DAGs a pipeline unrolls search.steps into.

With pipeline.steps_per_pod = 1 the seed and every step are their own sub-DAG
(generate, evaluate and rank pods); with k > 1, k consecutive steps run in one
fused pod (`steps-00-02`, `steps-03-04`, ...; the seed joins the first group) so
the models load once per group. pipelines/plan.py builds the run's groups from
this, and pipelines/limits.py counts them for configs it only considers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepGroup:
    """Steps first..last of every arm, one sub-DAG of the pipeline."""

    first: int
    last: int
    name: str
    display_name: str
    fused: bool


def step_groups(steps: int, steps_per_pod: int) -> tuple[StepGroup, ...]:
    """The step groups of one arm running `steps` steps, `steps_per_pod` per pod."""
    n, k = steps, steps_per_pod
    width = max(2, len(str(n)))
    if k == 1:
        groups = [StepGroup(0, 0, "seed", "seed (step 0)", False)]
        groups += [
            StepGroup(s, s, f"step-{s:0{width}d}", f"step {s}", False) for s in range(1, n + 1)
        ]
        return tuple(groups)
    groups, first, last = [], 0, min(k, n)  # the seed joins the first group
    while True:
        name = f"steps-{first:0{width}d}-{last:0{width}d}"
        groups.append(StepGroup(first, last, name, f"steps {first}-{last}", True))
        if last >= n:
            return tuple(groups)
        first, last = last + 1, min(last + k, n)


def group_shape(steps: int, steps_per_pod: int) -> tuple[int, int]:
    """(separate-pod step groups, fused step groups) of one arm: step_groups counted
    without building them (the limits guard weighs thousands of step counts)."""
    if steps_per_pod == 1:
        return steps + 1, 0  # the seed and every step
    # The seed joins the first group; then steps_per_pod steps per group.
    return 0, max(1, -(-steps // steps_per_pod))
