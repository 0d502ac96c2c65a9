"""Data prep: resolve the run's config, open its run directory, fix the data splits."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Output

from components.images import cpu_image


@dsl.component(base_image=cpu_image(), install_kfp_package=False)
def data_prep(
    base_config: str,
    compiled_steps: int,
    job_id: str,
    run_id: str,
    store_uri: str,
    dataset_uri: str,
    shots: int,
    max_classes: int,
    test_per_class: int,
    data_seed: int,
    vlm_model: str,
    vlm_pretrained: str,
    llm_model: str,
    temperature: float,
    max_new_tokens: int,
    method: str,
    compare_with: list,
    candidates: int,
    seed: int,
    alphas: list,
    layer: float,
    negative: str,
    cache_dir: str,
    overrides: list,
    config: Output[Artifact],
    data: Output[Dataset],
    history: Output[Artifact],
) -> list:
    """Resolve the config (compiled profile + run parameters + overrides) and validate it.

    Creates the run directory <store_uri>/<run_id>, or reopens it when it exists
    (a re-run resumes; its config must match). Prepares the fitness and test splits
    once per run (data.json in the run directory). Outputs the resolved config, the
    data bundle and an empty history, and returns the arms (alpha sweep and compared
    methods) the pipeline fans out over.
    """
    # Every run parameter, by the names of components/run_parameters.py's table
    # (tests/pipelines/test_params.py checks this signature against it).
    arguments = locals()
    from components.run_parameters import PARAMETER_NAMES
    from components.tasks.prepare import prepare_task

    return prepare_task(
        base_config,
        {name: arguments[name] for name in PARAMETER_NAMES},
        job_id,
        compiled_steps,
        config.path,
        data.path,
        history.path,
    )
