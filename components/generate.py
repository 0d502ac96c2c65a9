"""Generate: the meta-prompt and the optimizer LLM's candidates for one step of one arm."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from components.images import gpu_image


@dsl.component(base_image=gpu_image(), install_kfp_package=False)
def generate(
    config: Input[Artifact],
    data: Input[Dataset],
    history: Input[Artifact],
    arm: dict,
    step: int,
    candidates: Output[Artifact],
):
    """Build the meta-prompt from the arm's history and sample K candidate templates.

    For method glov the samples are steered (alpha * (H+ - H-) added at the guided
    layer) once guidance is on. Answers are parsed into templates; rejected ones are
    counted. Step 0 generates nothing: it scores the seed template and loads no LLM.
    A step already recorded in the run directory is reused, not sampled again.

    Args:
        config: the resolved config, run id and store (from data-prep).
        data: the run's fitness and test splits (from data-prep).
        history: the arm's step records so far (from data-prep or the previous step).
        arm: the arm this branch optimises: name, method and alpha (from data-prep).
        step: the step number (1..search.steps).

    Returns:
        candidates: the parsed candidate templates, rejected-answer counts, LLM stats.
    """
    from components.tasks.steps import generate_task

    generate_task(config.path, data.path, history.path, arm, step, candidates.path)
