"""Rank: merge one step's scored candidates into the arm's history and record the step."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Markdown, Metrics, Output

from components.images import cpu_image


@dsl.component(base_image=cpu_image(), install_kfp_package=False)
def rank(
    config: Input[Artifact],
    history: Input[Artifact],
    candidates: Input[Artifact],
    scores: Input[Artifact],
    updated_history: Output[Artifact],
    metrics: Output[Metrics],
    candidates_table: Output[Markdown],
):
    """Merge the scored candidates into the history (kept sorted by fitness), update
    the guidance pair, and append the step record to the run directory.

    A step already recorded is reused.

    Args:
        config: the resolved config, run id and store (from data-prep).
        history: the arm's step records so far (from data-prep or the previous step).
        candidates: the step's candidate templates (from generate or seed-template).
        scores: the candidates' fitnesses (from evaluate).

    Returns:
        updated_history: the history with this step appended (input of the next step).
        metrics: best fitness so far, the step's best, scored and rejected counts.
        candidates_table: the step's candidates by fitness and its rejected answers.
    """
    from components.tasks.artifacts import log_metrics
    from components.tasks.steps import rank_task

    log_metrics(
        metrics,
        rank_task(
            config.path,
            history.path,
            candidates.path,
            scores.path,
            updated_history.path,
            candidates_table.path,
        ),
    )
