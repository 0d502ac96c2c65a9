"""What a run reads before it can start: local copies of its inputs and its data splits.

Air-gapped clusters keep datasets (`s3://datasets/...`), LLM directories and
VLM checkpoints (`s3://models/...`) in MinIO. Before anything loads them, the
config's URIs are replaced by local copies, downloaded once per pod into the
store's size-limited download cache (glov.store.downloads).

The splits are fixed once per run (data.json in the run directory); a pod or
machine that starts on an empty disk re-materialises the images at the same
deterministic local paths.
"""

from __future__ import annotations

from pathlib import Path

from glov.config import GlovConfig
from glov.data import DataBundle, prepare_bundle
from glov.runs.rundir import RunDir

DATA_KEY = "data.json"


def cache_dir(cfg: GlovConfig) -> Path:
    """run.cache_dir: image features, converted LLM weights, packaged datasets."""
    return Path(cfg.run.cache_dir).expanduser()


def _local(uri: str | None, cfg: GlovConfig) -> str | None:
    if uri is None or not uri.startswith("s3://"):
        return uri
    from glov.store.downloads import fetch_with_config

    return str(fetch_with_config(uri, cfg.store))


def with_local_inputs(cfg: GlovConfig) -> GlovConfig:
    """A copy of the config whose s3:// dataset and model URIs point at local copies."""
    data = cfg.data.model_copy(update={"uri": _local(cfg.data.uri, cfg)})
    llm = cfg.llm.model_copy(update={"model": _local(cfg.llm.model, cfg)})
    # vlm.model is an s3:// directory for a generative VLM (never for an open_clip name).
    vlm_update = {
        "pretrained": _local(cfg.vlm.pretrained, cfg),
        "model": _local(cfg.vlm.model, cfg),
    }
    vlm = cfg.vlm.model_copy(update=vlm_update)
    return cfg.model_copy(update={"data": data, "llm": llm, "vlm": vlm})


def load_or_prepare_data(cfg: GlovConfig, run: RunDir) -> DataBundle:
    """The run's data bundle: read from data.json, else prepared and written there."""
    if not run.has(DATA_KEY):
        bundle = prepare_bundle(with_local_inputs(cfg).data, cache_dir(cfg), cfg.objective)
        run.write_json(DATA_KEY, bundle.to_json())
        return bundle
    return with_local_images(cfg, DataBundle.from_json(run.read_json(DATA_KEY)))


def with_local_images(cfg: GlovConfig, bundle: DataBundle) -> DataBundle:
    """The bundle, once its images exist on this machine.

    A pod or machine that starts on an empty disk writes packaged or s3:// data
    again, to the same deterministic paths.
    """
    if bundle.fitness.paths and not Path(bundle.fitness.paths[0]).exists():
        prepare_bundle(with_local_inputs(cfg).data, cache_dir(cfg), cfg.objective)
    return bundle
