"""Final report: merge the final evaluation's shards into the report (CPU, no VLM)."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output

from components.images import cpu_image


@dsl.component(base_image=cpu_image(), install_kfp_package=False)
def final_report(
    config: Input[Artifact],
    data: Input[Dataset],
    plan: Input[Artifact],
    shard_counts: Input[list[Artifact]],
    report: Output[Markdown],
    metrics: Output[Metrics],
    report_json: Output[Artifact],
):
    """Add up the final shards' correct-image counts into the test accuracies (the
    unsharded evaluation's floats) of each arm's best template and top-n ensemble,
    S-TEMP and DS-TEMP, and write the report as `final` does.

    Writes report.json/.md and fitness.png to the run directory and outputs the
    Markdown report (fitness plot embedded), the final accuracies as metrics and
    the report JSON. A complete report in the run directory is reused.

    Args:
        config: the resolved config, run id and store (from data-prep).
        data: the run's fitness and test splits (from data-prep).
        plan: the templates and ensembles the shards scored (from final-plan).
        shard_counts: every final shard's counts (from final-shard).

    Returns:
        report: the report as Markdown, fitness plot inline.
        metrics: final accuracies under keys that are the same in every run
            (best_test_top1, selected_alpha, s_temp_test_top1, <method>_test_top1, ...).
        report_json: report.json of the run directory.
    """
    from components.tasks.artifacts import log_metrics
    from components.tasks.shards import final_report_task

    log_metrics(
        metrics,
        final_report_task(
            config.path,
            data.path,
            plan.path,
            [c.path for c in shard_counts],
            report.path,
            report_json.path,
        ),
    )
