"""Fused steps: generate, evaluate and rank of consecutive steps in one pod."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output

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
    candidates_table: Output[Markdown],
):
    """Run steps first..last of one arm in this pod: the LLM and the VLM load once.

    Each step is generate (meta-prompt + steered sampling), evaluate (fitness) and
    rank (merge into the history); its record is appended to the run directory as
    soon as it finishes, so a failure keeps the finished steps and a retry or re-run
    continues after them.

    Args:
        config: the resolved config, run id and store (from data-prep).
        data: the run's fitness and test splits (from data-prep).
        history: the arm's step records so far (from data-prep or the previous step).
        arm: the arm this branch optimises: name, method and alpha (from data-prep).
        first: the first step of this group (0: the seed template).
        last: the last step of this group.

    Returns:
        updated_history: the history with steps first..last appended.
        metrics: the last step's best fitness, scored and rejected counts, steps reused.
        candidates_table: each step's candidates by fitness and its rejected answers.
    """
    from components.tasks.artifacts import log_metrics
    from components.tasks.steps import fused_task

    log_metrics(
        metrics,
        fused_task(
            config.path,
            data.path,
            history.path,
            arm,
            first,
            last,
            updated_history.path,
            candidates_table.path,
        ),
    )
