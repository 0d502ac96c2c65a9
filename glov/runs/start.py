"""Starting a run: every input checked first, the run directory created last.

One validation pass, in the order a user would fix things: the config (already
validated when loaded: bounds, non-empty lists, the seed template), the run id
and the run directory (free for a new run, present for --resume, writable; the
store answers), run.cache_dir, the local model files and directories (checked,
not loaded), the evaluation templates, the helpfulness judge's reference
answers (read only when a judge is set), and the data (manifest consistency,
class names, repeated images, every split image decodes). Only then is the run
directory created or reopened, so a bad input leaves nothing behind that would
need --force. Settings that depend on a model (guidance.layer) are checked the
moment the model loads (glov.runs.loaded_models), before its first step.
"""

from __future__ import annotations

from glov.config import GlovConfig
from glov.data import DataBundle, prepare_bundle
from glov.os_errors import check_creatable
from glov.runs.helpfulness import references
from glov.runs.inputs import DATA_KEY, cache_dir, with_local_inputs
from glov.runs.loaded_models import check_model_paths
from glov.runs.rundir import OpenMode, RunDir
from glov.vlm.baselines import ds_templates


def preflight(cfg: GlovConfig, root: str, run_id: str, mode: OpenMode) -> DataBundle | None:
    """Check everything a run can check before it creates anything.

    Returns the prepared data, or None when the run already holds its splits
    (data.json of a run being resumed or reused).
    """
    run, exists = RunDir.claim(root, run_id, mode, cfg.store, check_only=True)
    check_creatable(cache_dir(cfg), "dir")
    check_model_paths(cfg)
    ds_templates(cfg.eval.ds_templates)  # a set's name is known only to the VLM layer
    if cfg.objective.judge is not None and cfg.objective.judge_references is not None:
        references(cfg)  # read after the search otherwise: a bad file would cost the whole run
    if exists and run.has(DATA_KEY):
        run.read_json(DATA_KEY)  # a damaged one is named now, not after the models load
        return None
    return prepare_bundle(with_local_inputs(cfg).data, cache_dir(cfg), cfg.objective)


def start_run(cfg: GlovConfig, root: str, run_id: str, mode: OpenMode) -> tuple[RunDir, GlovConfig]:
    """Validate the inputs (preflight), then create or reopen the run with its data.json."""
    bundle = preflight(cfg, root, run_id, mode)
    run, cfg = RunDir.open(root, run_id, cfg, mode)
    if bundle is not None and not run.has(DATA_KEY):
        run.write_json(DATA_KEY, bundle.to_json())
    return run, cfg
