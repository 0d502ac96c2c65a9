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
    comp.add_argument(
        "--kubernetes-manifest",
        action="store_true",
        help="write Kubeflow Pipeline + PipelineVersion resources (KFP's Kubernetes API "
        "mode, for GitOps) instead of a pipeline package",
    )
    comp.add_argument("--namespace", help="namespace of those resources (--kubernetes-manifest)")
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
        "--token-file",
        metavar="PATH",
        help="bearer token for a multi-user Kubeflow, read on every request (default: "
        "$GLOV_KFP_TOKEN, else $KF_PIPELINES_SA_TOKEN_PATH or kfp's in-pod token path)",
    )
    subm.add_argument(
        "--wait",
        action="store_true",
        help="wait for the run to end, printing its state changes; non-zero exit unless it "
        "succeeds",
    )
    subm.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="with --wait: give up waiting after this long (the run goes on)",
    )
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
    from pipelines.plan import plan_pipeline

    cfg = config_from(args)
    plan = plan_pipeline(cfg)  # refuses what cannot run, before kfp is even imported
    from pipelines.compile import compile_pipeline
    from pipelines.glov_pipeline import pipeline_name

    out = compile_pipeline(
        plan,
        args.output or f"{pipeline_name(cfg)}.yaml",
        kubernetes=args.kubernetes_manifest,
        namespace=args.namespace,
    )
    print(
        f"wrote {out}: pipeline {pipeline_name(cfg)}, {cfg.search.steps} steps in "
        f"{len(plan.groups)} sub-DAGs per arm"
    )
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from pipelines.kfp_auth import resolve_auth
    from pipelines.plan import plan_pipeline
    from pipelines.submit import (
        check_namespace,
        healthz,
        kfp_errors,
        make_client,
        parse_params,
        run_url,
        submit,
        submit_request,
        wait_for_run,
    )

    if not args.host:
        raise GlovError("no KFP host given", f"pass --host URL or set ${HOST_ENV}")
    if args.timeout is not None and not args.wait:
        raise GlovError("--timeout is for --wait", "add --wait, or drop --timeout")
    cfg = config_from(args)
    params = parse_params(args.params)
    # Everything that can be checked before the server is asked anything.
    plan = plan_pipeline(cfg)
    submit_request(cfg, "", run_name=args.run_name, params=params, experiment=args.experiment)
    auth = resolve_auth(args.token_file)
    with kfp_errors(args.host, args.namespace, auth):
        check_namespace(healthz(args.host), args.namespace, "pass --namespace")
        client = make_client(args.host, args.namespace, auth)
        run_id = submit(
            plan,
            args.host,
            experiment=args.experiment,
            run_name=args.run_name,
            params=params,
            namespace=args.namespace,
            client=client,
        )
        url = run_url(args.host, run_id)
        print(f"started KFP run {run_id} on {args.host}\n  {url}")
        if args.wait:
            wait_for_run(client, run_id, url, timeout=args.timeout)
    return 0
