"""Final shard: one slice of the final test evaluation when it is split over GPU pods."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from components.images import gpu_image


@dsl.component(base_image=gpu_image(), install_kfp_package=False)
def final_shard(
    config: Input[Artifact],
    data: Input[Dataset],
    plan: Input[Artifact],
    shard: int,
    shards: int,
    counts: Output[Artifact],
):
    """Count the correct images of this shard's slice of the test split (images i with
    i % shards == shard) for each planned item: each arm's best template and top-n
    ensemble, S-TEMP and DS-TEMP.

    final-report adds up the counts of all shards into the report's accuracies. A
    report already complete in the run directory is not evaluated again.

    Args:
        config: the resolved config, run id and store (from data-prep).
        data: the run's fitness and test splits (from data-prep).
        plan: the templates and ensembles to score (from final-plan).
        shard: this shard's index, 0..shards-1.
        shards: the number of shards (pipeline.eval_shards).

    Returns:
        counts: the items scored, correct images per item and images in this slice.
    """
    from components.tasks.shards import final_shard_task

    final_shard_task(config.path, data.path, plan.path, shard, shards, counts.path)
