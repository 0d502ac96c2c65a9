"""Data prep: resolve the run's config, open its run directory, fix the data splits."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Output

from glov.images import cpu_image


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
    from glov.pipeline_tasks import prepare_task

    params = {
        "store_uri": store_uri,
        "dataset_uri": dataset_uri,
        "shots": shots,
        "max_classes": max_classes,
        "test_per_class": test_per_class,
        "data_seed": data_seed,
        "vlm_model": vlm_model,
        "vlm_pretrained": vlm_pretrained,
        "llm_model": llm_model,
        "temperature": temperature,
        "max_new_tokens": max_new_tokens,
        "method": method,
        "compare_with": compare_with,
        "candidates": candidates,
        "seed": seed,
        "alphas": alphas,
        "layer": layer,
        "negative": negative,
        "cache_dir": cache_dir,
    }
    return prepare_task(
        base_config,
        params,
        overrides,
        run_id,
        job_id,
        compiled_steps,
        config.path,
        data.path,
        history.path,
    )
