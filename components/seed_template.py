"""Seed template: step 0 of every arm scores the seed template (S-TEMP), no LLM."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Output

from components.images import cpu_image


@dsl.component(base_image=cpu_image(), install_kfp_package=False)
def seed_template(
    config: Input[Artifact],
    history: Input[Artifact],
    arm: dict,
    candidates: Output[Artifact],
):
    """Step 0: the only candidate is search.seed_template (e.g. "A photo of a {}."),
    the S-TEMP baseline every arm starts from. Loads no model.

    Args:
        config: the resolved config, run id and store (from data-prep).
        history: the arm's step records so far (from data-prep or the previous step).
        arm: the arm this branch optimises: name, method and alpha (from data-prep).

    Returns:
        candidates: the seed template as step 0's only candidate.
    """
    from components.tasks.steps import generate_task

    generate_task(config.path, "", history.path, arm, 0, candidates.path)
