"""Fused steps: generate, evaluate and rank of consecutive steps in one pod."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output

from components.images import gpu_image


@dsl.component(base_image=gpu_image(), install_kfp_package=False)
def fused_step(
    config: Input[Artifact],
    data: Input[Dataset],
    history: Input[Artifact],
    arm: dict,
    first: int,
    last: int,
    updated_history: Output[Artifact],
    metrics: Output[Metrics],
):
    """Run steps first..last of one arm in this pod: the LLM and the VLM load once.

    Each step is generate (meta-prompt + steered sampling), evaluate (fitness) and
    rank (merge into the history); its record is appended to the run directory as
    soon as it finishes, so a failure keeps the finished steps and a retry or re-run
    continues after them. Outputs the updated history and the last step's metrics.
    """
    from components.tasks.steps import fused_task

    for name, value in fused_task(
        config.path, data.path, history.path, arm, first, last, updated_history.path
    ).items():
        metrics.log_metric(name, value)
