"""The models every task of a run shares, made once before any step starts.

A pipeline run has many pods that load the same models: each arm's step pods
load the optimizer LLM, the evaluation pods and the final load the VLM. The
smoke profile's LLM is a GGUF file that has to be converted (tens of seconds)
and its VLM is trained here (about a minute). The pipeline's shared-models task
(components/shared_models.py) runs `prepare_shared_models` once per run, after
data prep and before the arms: it converts and trains what is missing and
keeps the results content-keyed where every later pod finds them (the cache
directory on one machine, the store's model share on a cluster; see
glov.store.model_share). Later pods then log a reuse, not a build.
"""

from __future__ import annotations

import logging
from pathlib import Path

from glov.config import GlovConfig
from glov.llm.loader import converted_llm
from glov.runs.inputs import cache_dir, with_local_inputs
from glov.runs.rundir import RunDir
from glov.store.model_share import model_share, publish_if_missing
from glov.vlm.training import ensure_built, is_build_uri

log = logging.getLogger(__name__)


def prepare_shared_models(cfg: GlovConfig, run: RunDir) -> list[Path]:
    """Convert the run's GGUF LLM and train its `build://` VLM unless they exist.

    Returns the model directories (none when the run uses neither kind). With a
    remote store, each is also in the store's model share afterwards.
    """
    local = with_local_inputs(cfg)
    cache = cache_dir(cfg)
    share = model_share(run.store)
    made: list[Path] = []
    llm = converted_llm(local.llm, cache, share)
    if llm is not None:
        made.append(llm)
    if is_build_uri(local.vlm.pretrained):
        made.append(ensure_built(local.vlm.pretrained, cache, share=share).parent)
    for directory in made:
        # Found in this machine's cache (a warm volume): the share may still lack it.
        key = directory.relative_to(cache.expanduser()).as_posix()
        if share is not None and publish_if_missing(share, key, directory):
            log.info("published %s to %s/%s", directory.name, share.uri, key)
    if not made:
        log.info("no model to share: %s and %s load as they are", cfg.llm.model, cfg.vlm.model)
    return made
