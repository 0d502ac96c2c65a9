"""The operator's command line: which namespace, how often to poll, where metrics are."""

from __future__ import annotations

import argparse
import os
import sys

NAMESPACE_ENV = "POD_NAMESPACE"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m controller",
        description="Run the GlovRun operator: submit GlovRuns to Kubeflow Pipelines and "
        "keep their status current.",
    )
    p.add_argument(
        "--namespace",
        default=os.environ.get(NAMESPACE_ENV, "glov"),
        help=f"namespace whose GlovRuns to serve (default: ${NAMESPACE_ENV} or glov)",
    )
    p.add_argument(
        "--poll-interval", type=float, default=15.0, help="seconds between Kubeflow polls"
    )
    p.add_argument(
        "--metrics-port", type=int, default=9090, help="Prometheus /metrics port (0: off)"
    )
    p.add_argument("--liveness-port", type=int, default=8080, help="kopf's /healthz port (0: off)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    import kopf
    from prometheus_client import start_http_server

    from controller.handlers import operator_settings, register
    from controller.metrics import OperatorMetrics
    from controller.reconcile import Reconciler
    from glov.errors import GlovError
    from pipelines.kfp_auth import resolve_auth

    args = parse_args(argv)
    try:
        # $KF_PIPELINES_SA_TOKEN_PATH (the kubeflow overlay's projected token), if any.
        auth = resolve_auth()
    except GlovError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.metrics_port:
        start_http_server(args.metrics_port)
    # The default registry logs in as kubectl would: in-cluster ServiceAccount or kubeconfig.
    registry = kopf.get_default_registry()
    reconciler = Reconciler(OperatorMetrics(), auth=auth)
    register(registry, reconciler, poll_interval=args.poll_interval)
    liveness = f"http://0.0.0.0:{args.liveness_port}/healthz" if args.liveness_port else None
    kopf.run(
        registry=registry,
        settings=operator_settings(),
        namespaces=[args.namespace],
        # One replica, no peering objects: the Role grants nothing for kopf's peering CRD.
        standalone=True,
        liveness_endpoint=liveness,
    )
    return 0
