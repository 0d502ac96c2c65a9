"""shared_models' task: the run's converted LLM and trained VLM, made once per run."""

from __future__ import annotations

from components.tasks.artifacts import open_run
from glov.runs.shared_models import prepare_shared_models


def shared_models_task(config_path: str) -> list[str]:
    """Make the models every later task loads; returns their directories."""
    cfg, run = open_run(config_path)
    return [str(path) for path in prepare_shared_models(cfg, run)]
