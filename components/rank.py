"""Rank: merge one step's scored candidates into the arm's history and record the step."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Metrics, Output

from components.images import cpu_image


@dsl.component(base_image=cpu_image(), install_kfp_package=False)
def rank(
    config: Input[Artifact],
    history: Input[Artifact],
    candidates: Input[Artifact],
    scores: Input[Artifact],
    updated_history: Output[Artifact],
    metrics: Output[Metrics],
):
    """Merge the scored candidates into the history (kept sorted by fitness), update
    the guidance pair, and append the step record to the run directory.

    Outputs the updated history and the step's metrics (best fitness so far, the
    step's best, scored/rejected counts). A step already recorded is reused.
    """
    from components.tasks.steps import rank_task

    for name, value in rank_task(
        config.path, history.path, candidates.path, scores.path, updated_history.path
    ).items():
        metrics.log_metric(name, value)
