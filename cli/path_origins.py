"""Where a command's paths come from, so an OS error's fix names the option to change.

The paths a command line names (`-o`, `--run-dir`, a run directory argument,
`--config`) and the config settings that name local paths (store.uri,
run.cache_dir, data.uri, model paths), each with what the user would change.
"""

from __future__ import annotations

import argparse
import os

from glov.config import load_config
from glov.errors import GlovError

# argparse dest -> how the user names it; `run_dir` is an option only for `glov run`.
_ARGUMENTS = {
    "output": "-o",
    "pipeline_root": "--pipeline-root",
    "config": "--config",
    "root": "the store root argument",
}
_SETTINGS = ("store.uri", "run.cache_dir", "data.uri", "llm.model", "vlm.model", "vlm.pretrained")


def default_export_dir(run_dir: str) -> str:
    """Where `glov export` writes without -o."""
    return f"{run_dir.rstrip('/')}-export"


def path_origins(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(option or setting, path) for every path this command line names."""
    origins = [
        (name, str(getattr(args, dest)))
        for dest, name in _ARGUMENTS.items()
        if getattr(args, dest, None) is not None
    ]
    run_dirs = getattr(args, "run_dirs", None) or [getattr(args, "run_dir", None)]
    run_dir_name = "--run-dir" if args.command == "run" else "the run directory argument"
    origins += [(run_dir_name, d) for d in run_dirs if d]
    if args.command == "compile" and args.output is None:
        origins.append(("-o", "."))  # the default: <pipeline name>.yaml here
    if args.command == "export" and args.output is None:
        origins.append(("-o", default_export_dir(args.run_dir)))
    if args.command in ("run", "build-vlm"):  # the commands that use these settings here
        try:
            flat = load_config(args.config, args.overrides).model_dump(mode="json")
        except (GlovError, OSError):
            return origins
        for key in _SETTINGS:
            section, field = key.split(".")
            value = flat[section][field]
            if isinstance(value, str) and not value.startswith(("pkg://", "build://")):
                origins.append((key, os.path.expanduser(value)))
    return origins
