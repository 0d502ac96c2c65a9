"""Submit the GLOV pipeline to a Kubeflow Pipelines server.

`submit_request` builds everything the server call needs (a pure function, tested
without a server); `submit` compiles the pipeline and sends it with kfp.Client;
`wait_for_run` follows the run to its end.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from components.run_parameters import PARAMETERS_BY_NAME, parse_parameter, unknown_parameter
from glov.config import GlovConfig
from glov.errors import ConfigError, GlovError, RunDirError
from glov.runs.rundir import RUN_ID_PATTERN, check_run_id, default_run_id
from pipelines.kfp_auth import TOKEN_ENV, KfpAuth, refusal
from pipelines.plan import PipelinePlan

# Seconds per HTTP request of healthz(): kfp's own healthz call retries for about
# half a minute, and a hung server would hold the caller.
HEALTHZ_TIMEOUT = 30


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
    if arguments.get("run_id"):
        check_run_id(arguments["run_id"])  # here, not in the data-prep pod minutes later
    elif run_name and ("/" in run_name or "\\" in run_name or ".." in run_name):
        # A display name may hold spaces (the run directory is then named after
        # the KFP run), but a path-like one reads as a run directory to create there.
        raise RunDirError(
            f"--run-name {run_name!r} looks like a path; the run name also names the run "
            "directory in the store",
            "use letters, digits, '.', '_' and '-', or pass --param run_id=ID to name the "
            "run directory",
        )
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


def healthz(host: str, timeout: float = HEALTHZ_TIMEOUT) -> dict[str, Any]:
    """The KFP API's healthz answer ({"multi_user": ...}); OSError/ValueError if none."""
    import json
    import urllib.request

    url = f"{host.rstrip('/')}/apis/v2beta1/healthz"
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body = resp.read()
    try:
        return json.loads(body or b"{}")
    except ValueError:
        raise GlovError(
            f"{url} did not answer like the Kubeflow Pipelines API (not JSON)",
            "point it at the KFP API (e.g. http://ml-pipeline.kubeflow:8888), not the UI or "
            "another service",
        ) from None


class NamespaceRequired(GlovError):
    """A multi-user Kubeflow asked without a profile namespace."""


def check_namespace(info: dict[str, Any], namespace: str | None, how_to_set: str) -> None:
    """A multi-user install needs the profile namespace on every call.

    Without one kfp.Client would also write ~/.config/kfp/context.json (a
    read-only root filesystem in the operator's pod refuses it).
    """
    if info.get("multi_user") and not namespace:
        raise NamespaceRequired(
            "this Kubeflow Pipelines is multi-user: every run belongs to a profile namespace",
            f"{how_to_set} (your Kubeflow profile's namespace, e.g. glov)",
        )


def make_client(host: str, namespace: str | None = None, auth: KfpAuth | None = None) -> Any:
    """kfp.Client for `host`, with the bearer token of `auth` (kfp_auth.resolve_auth)."""
    import warnings

    import kfp

    kwargs: dict[str, Any] = {"host": host, **(auth or KfpAuth()).client_kwargs()}
    if namespace:
        kwargs["namespace"] = namespace
    with warnings.catch_warnings():
        # "This client only works with Kubeflow Pipeline v2.0.0-beta.2 and later".
        warnings.simplefilter("ignore", FutureWarning)
        return kfp.Client(**kwargs)


def submit(
    plan: PipelinePlan,
    host: str,
    experiment: str | None = None,
    run_name: str | None = None,
    params: dict[str, Any] | None = None,
    *,
    namespace: str | None = None,
    client: Any = None,
    auth: KfpAuth | None = None,
) -> str:
    """Compile the pipeline of `plan`, start a run on the KFP server at `host`; the run id."""
    from pipelines.compile import compile_pipeline

    with tempfile.TemporaryDirectory(prefix="glov-submit-") as tmp:
        package = compile_pipeline(plan, Path(tmp) / "pipeline.yaml")
        request = submit_request(
            plan.cfg,
            package,
            experiment=experiment,
            run_name=run_name,
            params=params,
            namespace=namespace,
        )
        client = client or make_client(host, namespace, auth)
        result = client.create_run_from_pipeline_package(**request)
    return str(result.run_id)


# The KFP v2beta1 run states a run does not leave (kfp's own wait_for_run_completion
# misses CANCELED and would poll a cancelled run forever).
FINAL_STATES = ("SUCCEEDED", "FAILED", "SKIPPED", "CANCELED")


def run_url(host: str, run_id: str) -> str:
    """The run's page in the Kubeflow Pipelines UI served at `host`."""
    return f"{host.rstrip('/')}/#/runs/details/{run_id}"


def wait_for_run(
    client: Any,
    run_id: str,
    url: str,
    *,
    timeout: float | None = None,
    poll_seconds: float = 5.0,
    report: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll the run until it ends, reporting each state change; its final state.

    A run that ends other than SUCCEEDED, or is still going after `timeout`
    seconds, is a GlovError naming the run's page (the failed task's logs are there).
    """
    start, last = clock(), None
    while True:
        run = client.get_run(run_id)
        state = str(getattr(run, "state", None) or "PENDING").upper()
        elapsed = clock() - start
        if state != last:
            report(f"run {run_id}: {state} after {elapsed:.0f} s")
            last = state
        if state in FINAL_STATES:
            break
        if timeout is not None and elapsed >= timeout:
            raise GlovError(
                f"KFP run {run_id} is still {state} after {timeout:g} s",
                f"it goes on on the server: follow it at {url}, or wait longer (--timeout)",
            )
        sleep(poll_seconds)
    if state != "SUCCEEDED":
        error = getattr(run, "error", None)
        detail = getattr(error, "message", None) or (error if isinstance(error, str) else None)
        raise GlovError(
            f"KFP run {run_id} ended {state}" + (f": {detail}" if detail else ""),
            f"open {url} and read the logs of the task marked failed",
        )
    return state


# How a `glov submit` user fixes a refused token.
SUBMIT_TOKEN_FIX = (
    f"pass --token-file PATH or set ${TOKEN_ENV} to a token of an identity with access, e.g. "
    "`kubectl create token default-editor -n NAMESPACE --audience pipelines.kubeflow.org`"
)


@contextmanager
def kfp_errors(
    host: str, namespace: str | None = None, auth: KfpAuth | None = None
) -> Iterator[None]:
    """A Kubeflow Pipelines server that does not answer, or refuses, as a GlovError."""
    from urllib import error as urllib_error

    from kfp_server_api.exceptions import ApiException
    from urllib3.exceptions import HTTPError, MaxRetryError

    fix = (
        f"check --host {host} (or ${{KFP_HOST}}): the KFP API endpoint, e.g. after "
        "`kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80` use http://localhost:8080"
    )
    try:
        yield
    except ApiException as exc:
        raise _refused(host, exc.status, exc.reason, namespace, auth) from None
    except urllib_error.HTTPError as exc:
        # healthz() (urllib) asks before kfp.Client: an answer, but a refusal.
        raise _refused(host, exc.code, exc.reason, namespace, auth) from None
    except (MaxRetryError, urllib_error.URLError) as exc:
        # urllib3 when kfp.Client asks, urllib when healthz() asks first.
        raise GlovError(
            f"Kubeflow Pipelines at {host} does not answer: {exc.reason}", fix
        ) from None
    except (HTTPError, OSError) as exc:
        raise GlovError(
            f"Kubeflow Pipelines at {host} cannot be reached: {exc.__class__.__name__}: {exc}", fix
        ) from None


def _refused(
    host: str, status: int, reason: str, namespace: str | None, auth: KfpAuth | None
) -> GlovError:
    """An HTTP error answer of the KFP API: 401/403 name the token or RoleBinding fix."""
    if status in (401, 403):
        _, problem, fix = refusal(
            status, namespace, auth or KfpAuth(), how_to_fix_token=SUBMIT_TOKEN_FIX
        )
        return GlovError(problem, fix)
    return GlovError(
        f"Kubeflow Pipelines at {host} refused the request: HTTP {status} {reason}",
        "check that --host is the KFP API (not another service), and --namespace and your "
        "credentials on a multi-user install",
    )
