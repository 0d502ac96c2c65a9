"""The pipeline commands of the `glov` CLI: compile, submit, and `run --local`.

glov/cli.py calls `add_pipeline_commands(sub, run_parser)` once while building
its parser; everything else lives here.
"""

from __future__ import annotations

import argparse
import os

from glov.pipeline_params import EXTRA_PARAMETERS, RUN_PARAMETERS

HOST_ENV = "KFP_HOST"


def _param_help() -> str:
    names = ", ".join([p.name for p in RUN_PARAMETERS] + list(EXTRA_PARAMETERS))
    return f"set a run parameter (repeatable); one of: {names}"


def add_pipeline_commands(
    sub: argparse._SubParsersAction, run_parser: argparse.ArgumentParser | None = None
) -> None:
    """Add `compile` and `submit`, and `--local` to `run_parser` (the `run` command)."""
    from glov.cli import _add_config_args

    comp = sub.add_parser(
        "compile",
        help="compile the Kubeflow pipeline YAML for a profile",
        description="Compile the GLOV Kubeflow pipeline; run parameters default to the "
        "profile's values, search.steps and pipeline.* are fixed in the DAG.",
    )
    _add_config_args(comp)
    comp.add_argument("-o", "--output", help="pipeline YAML to write (default: <name>.yaml)")
    comp.set_defaults(func=cmd_compile)

    subm = sub.add_parser(
        "submit",
        help="compile and start a run on a Kubeflow Pipelines server",
        description="Compile the pipeline for a profile and start a run with kfp.Client.",
    )
    _add_config_args(subm)
    subm.add_argument(
        "--host",
        default=os.environ.get(HOST_ENV),
        help=f"KFP API endpoint, e.g. http://localhost:8080 (default: ${HOST_ENV})",
    )
    subm.add_argument("--experiment", help="experiment name (default: pipeline.experiment)")
    subm.add_argument("--run-name", help="run name (default: <run.name>-<time>)")
    subm.add_argument("--namespace", help="Kubeflow profile namespace (multi-user installs)")
    subm.add_argument(
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=_param_help(),
    )
    subm.set_defaults(func=cmd_submit)

    if run_parser is not None:
        run_parser.add_argument(
            "--local",
            action="store_true",
            help="run the Kubeflow pipeline DAG on this machine (kfp local SubprocessRunner, "
            "one process per task) instead of the in-process loop",
        )
        run_parser.add_argument(
            "--pipeline-root", help="--local: where task artifacts go (default: <cache>/kfp-local)"
        )
        in_process = run_parser.get_default("func")

        def dispatch(args: argparse.Namespace) -> int:
            return cmd_run_local(args) if args.local else in_process(args)

        run_parser.set_defaults(func=dispatch)


def cmd_compile(args: argparse.Namespace) -> int:
    from glov.config import load_config
    from pipelines.compile import compile_pipeline
    from pipelines.glov_pipeline import pipeline_name, step_groups

    cfg = load_config(args.config, args.overrides)
    out = compile_pipeline(cfg, args.output or f"{pipeline_name(cfg)}.yaml")
    print(
        f"wrote {out}: pipeline {pipeline_name(cfg)}, {cfg.search.steps} steps in "
        f"{len(step_groups(cfg))} sub-DAGs per arm"
    )
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from glov.config import load_config
    from glov.errors import GlovError
    from pipelines.submit import parse_params, submit

    if not args.host:
        raise GlovError("no KFP host given", f"pass --host URL or set ${HOST_ENV}")
    cfg = load_config(args.config, args.overrides)
    run_id = submit(
        cfg,
        args.host,
        experiment=args.experiment,
        run_name=args.run_name,
        params=parse_params(args.params),
        namespace=args.namespace,
    )
    print(f"started KFP run {run_id} on {args.host}")
    return 0


def cmd_run_local(args: argparse.Namespace) -> int:
    from glov.cli import _print_summary, split_run_dir
    from glov.config import load_config
    from glov.rundir import RunDir
    from pipelines.local import run_local

    cfg = load_config(args.config, args.overrides)
    root = run_id = None
    if args.run_dir:
        root, run_id = split_run_dir(args.run_dir)
    elif isinstance(args.resume, str):  # --resume RUN_ID: a run under store.uri
        run_id = args.resume
    result = run_local(
        cfg,
        root=root,
        run_id=run_id,
        resume=bool(args.resume),
        force=args.force,
        pipeline_root=args.pipeline_root,
    )
    _print_summary(result.report, RunDir.existing(root or cfg.store.uri, result.run_id))
    return 0
