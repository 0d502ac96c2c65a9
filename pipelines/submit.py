"""Submit the GLOV pipeline to a Kubeflow Pipelines server.

`submit_request` builds everything the server call needs (a pure function, tested
without a server); `submit` compiles the pipeline and sends it with kfp.Client.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from components.run_parameters import PARAMETERS_BY_NAME, parse_parameter, unknown_parameter
from glov.config import GlovConfig
from glov.errors import ConfigError
from glov.runs.rundir import RUN_ID_PATTERN, default_run_id


def parse_params(assignments: list[str]) -> dict[str, Any]:
    """`["shots=2", "alphas=[1.0,0.5]"]` -> typed run arguments."""
    out: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if not sep or not name.strip():
            raise ConfigError(
                f"run parameter {assignment!r} is not of the form name=value",
                "e.g. --param dataset_uri=s3://bucket/data --param shots=2",
            )
        out[name.strip()] = parse_parameter(name.strip(), raw)
    return out


def submit_request(
    cfg: GlovConfig,
    package_path: str | Path,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    params: dict[str, Any] | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """The keyword arguments of kfp.Client.create_run_from_pipeline_package.

    Only the parameters given are sent; the others keep the compiled defaults
    (the profile's values). Without an explicit run_id the run directory is named
    after the KFP run, so the two are easy to match.
    """
    arguments = dict(params or {})
    for name in arguments:
        if name not in PARAMETERS_BY_NAME:
            raise unknown_parameter(name)
    run_name = run_name or default_run_id(cfg.run.name)
    if "run_id" not in arguments and RUN_ID_PATTERN.match(run_name):
        arguments["run_id"] = run_name
    return {
        "pipeline_file": str(package_path),
        "arguments": arguments,
        "run_name": run_name,
        "experiment_name": experiment or cfg.pipeline.experiment,
        "namespace": namespace,
        "service_account": cfg.pipeline.service_account,
        # None: every task keeps the caching choice compiled into it (pipeline.caching).
        "enable_caching": None,
    }


def submit(
    cfg: GlovConfig,
    host: str,
    experiment: str | None = None,
    run_name: str | None = None,
    params: dict[str, Any] | None = None,
    *,
    namespace: str | None = None,
    client: Any = None,
) -> str:
    """Compile the pipeline for `cfg`, start a run on the KFP server at `host`; the run id."""
    from pipelines.compile import compile_pipeline

    with tempfile.TemporaryDirectory(prefix="glov-submit-") as tmp:
        package = compile_pipeline(cfg, Path(tmp) / "pipeline.yaml")
        request = submit_request(
            cfg,
            package,
            experiment=experiment,
            run_name=run_name,
            params=params,
            namespace=namespace,
        )
        if client is None:
            import kfp

            client = kfp.Client(host=host, namespace=namespace) if namespace else kfp.Client(host)
        result = client.create_run_from_pipeline_package(**request)
    return str(result.run_id)
