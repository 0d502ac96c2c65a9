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
    """
    from components.tasks.final import final_task

    for name, value in final_task(
        config.path, data.path, [h.path for h in histories], report.path, report_json.path
    ).items():
        metrics.log_metric(name, value)
