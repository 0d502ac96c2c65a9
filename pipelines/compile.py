"""Compile the GLOV pipeline for a config into a KFP v2 pipeline YAML."""

from __future__ import annotations

import warnings
from pathlib import Path

from glov.config import GlovConfig


def compile_pipeline(cfg: GlovConfig, out_path: str | Path) -> Path:
    """Write the pipeline YAML for `cfg` (run parameters default to its values)."""
    from kfp import compiler

    from pipelines.glov_pipeline import build_pipeline

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # kfp warns that Python 3.9-era typing is deprecated etc.; not actionable here.
        warnings.simplefilter("ignore", FutureWarning)
        compiler.Compiler().compile(pipeline_func=build_pipeline(cfg), package_path=str(out))
    return out
