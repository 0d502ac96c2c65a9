"""`glov compile` and `glov submit`: the Kubeflow pipeline of a profile."""

from __future__ import annotations

import argparse
import os

from cli.common import add_config_args, config_from
from components.run_parameters import PARAMETER_NAMES
from glov.errors import GlovError

HOST_ENV = "KFP_HOST"


def add_pipeline_commands(sub: argparse._SubParsersAction) -> None:
    comp = sub.add_parser(
        "compile",
        help="compile the Kubeflow pipeline YAML for a profile",
        description="Compile the GLOV Kubeflow pipeline; run parameters default to the "
        "profile's values, search.steps and pipeline.* are fixed in the DAG.",
    )
    add_config_args(comp)
    comp.add_argument("-o", "--output", help="pipeline YAML to write (default: <name>.yaml)")
    comp.set_defaults(func=cmd_compile)

    subm = sub.add_parser(
        "submit",
        help="compile and start a run on a Kubeflow Pipelines server",
        description="Compile the pipeline for a profile and start a run with kfp.Client.",
    )
    add_config_args(subm)
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
        help=f"set a run parameter (repeatable); one of: {', '.join(PARAMETER_NAMES)}",
    )
    subm.set_defaults(func=cmd_submit)


def cmd_compile(args: argparse.Namespace) -> int:
    from pipelines.compile import compile_pipeline
    from pipelines.glov_pipeline import pipeline_name, step_groups

    cfg = config_from(args)
    out = compile_pipeline(cfg, args.output or f"{pipeline_name(cfg)}.yaml")
    print(
        f"wrote {out}: pipeline {pipeline_name(cfg)}, {cfg.search.steps} steps in "
        f"{len(step_groups(cfg))} sub-DAGs per arm"
    )
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from pipelines.submit import parse_params, submit

    if not args.host:
        raise GlovError("no KFP host given", f"pass --host URL or set ${HOST_ENV}")
    cfg = config_from(args)
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
