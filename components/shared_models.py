"""Shared models: the run's converted LLM and trained VLM, built once before any step."""

from kfp import dsl
from kfp.dsl import Artifact, Input

from components.images import gpu_image


@dsl.component(base_image=gpu_image(), install_kfp_package=False)
def shared_models(config: Input[Artifact]):
    """Convert the GGUF optimizer LLM and train the `build://` VLM, if the run uses them.

    Runs once per run, after data prep and before every arm, so no step pod
    converts or trains: each finds the models content-keyed in the cache volume
    or, with an S3 store, in the store's model share (`_cache/models/`), and
    logs how much time the reuse saved. Does nothing when the models are there.

    Args:
        config: the resolved config, run id and store (from data-prep).
    """
    from components.tasks.models import shared_models_task

    shared_models_task(config.path)
