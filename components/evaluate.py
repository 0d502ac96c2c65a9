"""Evaluate: the fitness (VLM zero-shot accuracy) of one step's candidate templates."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from components.images import gpu_image


@dsl.component(base_image=gpu_image(), install_kfp_package=False)
def evaluate(
    config: Input[Artifact],
    data: Input[Dataset],
    candidates: Input[Artifact],
    scores: Output[Artifact],
):
    """Score every candidate template: top-1 zero-shot accuracy on the fitness split.

    Image features are computed once per (model, split content) and cached on disk
    under run.cache_dir, so later steps only encode the class names. A step already
    recorded in the run directory is reused, not scored again.

    Args:
        config: the resolved config, run id and store (from data-prep).
        data: the run's fitness and test splits (from data-prep).
        candidates: the step's candidate templates (from generate or seed-template).

    Returns:
        scores: the fitness of each candidate, in the candidates' order.
    """
    from components.tasks.steps import evaluate_task

    evaluate_task(config.path, data.path, candidates.path, scores.path)
