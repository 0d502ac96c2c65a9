"""data_prep's task: resolve the config, create or reopen the run, fix the data splits."""

from __future__ import annotations

import time
from typing import Any

from components.run_parameters import check_structure, resolve_config, resolve_run_id
from components.tasks.artifacts import arm_to_dict, write_config, write_history, write_json
from components.tasks.steps import PIPELINE_LABEL
from glov.runs.inputs import load_or_prepare_data
from glov.runs.start import start_run
from glov.runs.telemetry import record_data_stage, run_metrics
from glov.search.arms import arms_for


def prepare_task(
    base_config: str,
    params: dict[str, Any],
    job_id: str,
    compiled_steps: int,
    config_out: str,
    data_out: str,
    history_out: str,
) -> list[dict]:
    """Resolve and validate the config, create or reopen the run, prepare the data.

    `params` holds every run parameter (components.run_parameters). Returns the
    arms as dicts (the pipeline fans out over them).
    """
    cfg = resolve_config(base_config, params)
    check_structure(cfg, compiled_steps)
    run_id = resolve_run_id(params["run_id"], cfg, job_id)
    # "reuse": create the run, or reopen it (a retried task, a re-run pipeline);
    # a reopened run must have the same config (only search.steps may grow).
    # Inputs (store, templates, data) are validated before the run is created;
    # the data stage's time includes preparing the splits there.
    started = time.perf_counter()
    run, cfg = start_run(cfg, cfg.store.uri, run_id, "reuse")
    bundle = load_or_prepare_data(cfg, run)  # data.json: the splits are fixed once per run
    seconds = time.perf_counter() - started
    record_data_stage(run_metrics(cfg, run, bundle.name, PIPELINE_LABEL), seconds)
    write_config(config_out, cfg, run)
    write_json(data_out, bundle.to_json())
    write_history(history_out, None, [])
    return [arm_to_dict(a) for a in arms_for(cfg)]
