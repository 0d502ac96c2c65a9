"""Final plan: what the final evaluation's shards score, fixed once (CPU)."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from components.images import cpu_image


@dsl.component(base_image=cpu_image(), install_kfp_package=False)
def final_plan(
    config: Input[Artifact],
    data: Input[Dataset],
    histories: Input[list[Artifact]],
    plan: Output[Artifact],
):
    """Check that every arm finished and list the test evaluations of the report:
    each arm's best template and top-n ensemble, S-TEMP and DS-TEMP.

    Every final shard scores exactly this list, so their counts add up. A complete
    report in the run directory plans nothing (the report is reused).

    Args:
        config: the resolved config, run id and store (from data-prep).
        data: the run's fitness and test splits (from data-prep).
        histories: every arm's complete history (one per parallel branch).

    Returns:
        plan: the templates and ensembles to score on the test split.
    """
    from components.tasks.shards import final_plan_task

    final_plan_task(config.path, data.path, [h.path for h in histories], plan.path)
