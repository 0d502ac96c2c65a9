"""Final: test-split evaluation of every arm against the baselines, and the report."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output

from components.images import gpu_image


@dsl.component(base_image=gpu_image(), install_kfp_package=False)
def final(
    config: Input[Artifact],
    data: Input[Dataset],
    histories: Input[list[Artifact]],
    report: Output[Markdown],
    metrics: Output[Metrics],
    report_json: Output[Artifact],
):
    """Evaluate each arm's best template and its top-n ensemble on the held-out test
    split, next to S-TEMP (the seed template) and DS-TEMP (a hand-written ensemble).

    Writes report.json/.md and fitness.png to the run directory and outputs the
    Markdown report (fitness plot embedded, best templates, comparison table), the
    final accuracies as metrics and the report JSON.

    Args:
        config: the resolved config, run id and store (from data-prep).
        data: the run's fitness and test splits (from data-prep).
        histories: every arm's complete history (one per parallel branch).

    Returns:
        report: the report as Markdown, fitness plot inline.
        metrics: final accuracies under keys that are the same in every run
            (best_test_top1, selected_alpha, s_temp_test_top1, <method>_test_top1, ...).
        report_json: report.json of the run directory.
    """
    from components.tasks.artifacts import log_metrics
    from components.tasks.final import final_task

    log_metrics(
        metrics,
        final_task(
            config.path, data.path, [h.path for h in histories], report.path, report_json.path
        ),
    )
