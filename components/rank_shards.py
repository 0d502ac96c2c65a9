"""Rank shards: merge a step's evaluation shards, then rank as `rank` does."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Markdown, Metrics, Output

from components.images import cpu_image


@dsl.component(base_image=cpu_image(), install_kfp_package=False)
def rank_shards(
    config: Input[Artifact],
    history: Input[Artifact],
    candidates: Input[Artifact],
    shard_scores: Input[list[Artifact]],
    updated_history: Output[Artifact],
    metrics: Output[Metrics],
    candidates_table: Output[Markdown],
):
    """Add up the shards' correct-image counts into each candidate's fitness (sum of
    correct / sum of images: the unsharded fitness), merge the scored candidates into
    the history and append the step record to the run directory.

    A step already recorded is reused.

    Args:
        config: the resolved config, run id and store (from data-prep).
        history: the arm's step records so far (from data-prep or the previous step).
        candidates: the step's candidate templates (from generate or seed-template).
        shard_scores: every evaluation shard's counts (from evaluate-shard).

    Returns:
        updated_history: the history with this step appended (input of the next step).
        metrics: best fitness so far, the step's best, scored and rejected counts.
        candidates_table: the step's candidates by fitness and its rejected answers.
    """
    from components.tasks.artifacts import log_metrics
    from components.tasks.shards import rank_shards_task

    log_metrics(
        metrics,
        rank_shards_task(
            config.path,
            history.path,
            candidates.path,
            [s.path for s in shard_scores],
            updated_history.path,
            candidates_table.path,
        ),
    )
