"""Inputs that live in object storage: datasets and models as s3:// URIs.

Air-gapped clusters keep datasets (`s3://datasets/...`), LLM directories and
VLM checkpoints (`s3://models/...`) in MinIO. Before anything loads them, the
config's URIs are replaced by local copies, downloaded once per pod into the
store's size-limited local cache (glov.store.remote_cache).
"""

from __future__ import annotations

from glov.config import GlovConfig


def _local(uri: str | None, cfg: GlovConfig) -> str | None:
    if uri is None or not uri.startswith("s3://"):
        return uri
    from glov.store.remote_cache import fetch_with_config

    return str(fetch_with_config(uri, cfg.store))


def with_local_inputs(cfg: GlovConfig) -> GlovConfig:
    """A copy of the config whose s3:// dataset and model URIs point at local copies."""
    data = cfg.data.model_copy(update={"uri": _local(cfg.data.uri, cfg)})
    llm = cfg.llm.model_copy(update={"model": _local(cfg.llm.model, cfg)})
    vlm = cfg.vlm.model_copy(update={"pretrained": _local(cfg.vlm.pretrained, cfg)})
    return cfg.model_copy(update={"data": data, "llm": llm, "vlm": vlm})
