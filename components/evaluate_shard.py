"""Evaluate shard: one slice of a step's evaluation when it is split over GPU pods."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from components.images import gpu_image


@dsl.component(base_image=gpu_image(), install_kfp_package=False)
def evaluate_shard(
    config: Input[Artifact],
    data: Input[Dataset],
    candidates: Input[Artifact],
    shard: int,
    shards: int,
    scores: Output[Artifact],
):
    """Count, for every candidate template, the correct images of this shard's slice of
    the fitness split (images i with i % shards == shard).

    rank adds up the counts of all shards, so the fitness is exactly the unsharded
    evaluation's. A step already recorded in the run directory is not scored again.

    Args:
        config: the resolved config, run id and store (from data-prep).
        data: the run's fitness and test splits (from data-prep).
        candidates: the step's candidate templates (from generate or seed-template).
        shard: this shard's index, 0..shards-1.
        shards: the number of shards (pipeline.eval_shards).

    Returns:
        scores: correct images per candidate and images in this slice.
    """
    from components.tasks.shards import evaluate_shard_task

    evaluate_shard_task(config.path, data.path, candidates.path, shard, shards, scores.path)
