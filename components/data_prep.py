"""Data prep: resolve the run's config, open its run directory, fix the data splits."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Output

from components.images import cpu_image
from components.run_parameters import RUN_PARAMETERS


@dsl.component(base_image=cpu_image(), install_kfp_package=False)
def data_prep(
    base_config: str,
    compiled_steps: int,
    job_id: str,
    run_id: str,
    store_uri: str,
    dataset_uri: str,
    dataset: str,
    shots: int,
    max_classes: str,
    test_per_class: str,
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
    layer: str,
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
    methods) the pipeline fans out over. The run parameters are described in
    components/run_parameters.py (the pipeline's parameters in the UI).

    Args:
        base_config: the compiled profile (YAML); run parameters are applied over it.
        compiled_steps: search.steps the DAG was unrolled for; the run must agree.
        job_id: the KFP run id, names the run directory when run_id is empty.

    Returns:
        Output: the arms, one loop item each: name, method and alpha.
        config: the resolved config, run id and store, read by every later task.
        data: the run's fitness and test splits.
        history: the empty history every arm starts from.
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


# The run-parameter inputs are described from the table, as the pipeline's own
# parameters are: a docstring `Args:` entry each would repeat it and drift.
for _parameter in RUN_PARAMETERS:
    data_prep.component_spec.inputs[_parameter.name].description = _parameter.description
