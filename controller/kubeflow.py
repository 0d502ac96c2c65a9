"""The Kubeflow Pipelines calls the controller makes, through kfp.Client.

Five endpoints of the v2beta1 API: healthz (kfp.Client's constructor),
experiments (find or create), runs (create, list by display name, get) and
runs/{id}:terminate. Every failure becomes a KubeflowError with a condition
reason, so a handler records it instead of crashing.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.spec import RESUME_ANNOTATION
from glov.config import config_to_yaml
from glov.errors import GlovError
from pipelines.kfp_auth import SA_TOKEN_PATH_ENV, KfpAuth, refusal
from pipelines.plan import PipelinePlan
from pipelines.submit import NamespaceRequired, check_namespace, healthz, make_client

# Seconds per HTTP request: kfp.Client sets none, and a hung API server would
# otherwise hold a handler thread (and the object's lock) forever.
REQUEST_TIMEOUT = 30
TERMINAL_STATES = {"SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"}
# KubeflowError.reason when the followed run was deleted behind the controller's back.
RUN_GONE = "RunDeleted"
# How the operator's token is fixed (manifests/overlays/kubeflow/operator-auth.yaml).
OPERATOR_TOKEN_FIX = (
    "mount a projected ServiceAccount token into the operator and point "
    f"${SA_TOKEN_PATH_ENV} at it (manifests/overlays/kubeflow/operator-auth.yaml)"
)
# 4xx answers that a retry may change (a timeout, rate limiting): not permanent.
TRANSIENT_4XX = {408, 429}


class KubeflowError(GlovError):
    """A Kubeflow call that failed; `reason` is the condition reason it becomes.

    `permanent`: the same call will fail the same way until someone changes
    something (a token, a RoleBinding, the spec): retried with a growing delay
    and then not at all (controller/backoff.py), not like an outage.
    """

    def __init__(self, reason: str, problem: str, fix: str | None = None, permanent: bool = False):
        self.reason = reason
        self.permanent = permanent
        super().__init__(problem, fix)


@dataclass(frozen=True)
class KfpRun:
    run_id: str
    state: str
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES


def _wrap(
    operation: str, endpoint: str, exc: Exception, namespace: str | None, auth: KfpAuth
) -> KubeflowError:
    status = getattr(exc, "status", getattr(exc, "code", None))
    if status in (401, 403):
        reason, problem, fix = refusal(status, namespace, auth, how_to_fix_token=OPERATOR_TOKEN_FIX)
        return KubeflowError(reason, f"could not {operation}: {problem}", fix, permanent=True)
    if isinstance(status, int) and 400 <= status < 500:
        body = getattr(exc, "body", "") or ""
        return KubeflowError(
            "KubeflowRejected",
            f"Kubeflow refused to {operation} (HTTP {status}): {str(body)[:300]}",
            "check spec.kubeflow (experiment, namespace) and the controller's access",
            permanent=status not in TRANSIENT_4XX,
        )
    return KubeflowError(
        "KubeflowUnavailable",
        f"could not {operation} at {endpoint}: {type(exc).__name__}: {str(exc)[:300]}",
        "check that the Kubeflow Pipelines API answers at spec.kubeflow.endpoint; "
        "the controller retries",
    )


def _with_timeout(client: Any) -> None:
    """Give every request of `client` a timeout (kfp.Client has no option for it)."""
    rest = getattr(getattr(client, "_run_api", None), "api_client", None)
    rest = getattr(rest, "rest_client", None)
    if rest is None:
        return
    original = rest.request

    def request(*args, _request_timeout=None, **kwargs):
        return original(*args, _request_timeout=_request_timeout or REQUEST_TIMEOUT, **kwargs)

    rest.request = request


class Kubeflow:
    """One Kubeflow Pipelines API endpoint (and multi-user namespace)."""

    def __init__(self, endpoint: str, namespace: str | None = None, auth: KfpAuth | None = None):
        self.endpoint = endpoint
        self.namespace = namespace
        self.auth = auth or KfpAuth()
        self._client: Any = None
        # Experiments known to exist. kfp.Client creates a missing one on every
        # create_run (look up, then create): concurrent submissions would race
        # to create the same name, which Kubeflow refuses (names are unique per
        # namespace). One creation at a time, once per experiment.
        self._experiments: dict[str, str] = {}  # name -> id
        self._experiments_lock = threading.Lock()

    def _wrap(self, operation: str, exc: Exception) -> KubeflowError:
        return _wrap(operation, self.endpoint, exc, self.namespace, self.auth)

    def _healthz(self) -> None:
        """Fail fast (kfp.Client's own healthz retries for about half a minute), and
        refuse a multi-user install without a namespace before kfp.Client writes its
        context file."""
        try:
            info = healthz(self.endpoint, REQUEST_TIMEOUT)
            check_namespace(info, self.namespace, "set spec.kubeflow.namespace")
        except NamespaceRequired as exc:
            raise KubeflowError("NamespaceRequired", exc.problem, exc.fix, permanent=True) from exc
        except GlovError as exc:  # answered, but not as the KFP API
            raise KubeflowError("KubeflowRejected", exc.problem, exc.fix, permanent=True) from exc
        except OSError as exc:  # URLError and HTTPError are OSErrors
            raise self._wrap("reach the API", exc) from exc

    def client(self) -> Any:
        if self._client is None:
            self._healthz()
            try:
                client = make_client(self.endpoint, self.namespace, self.auth)
            except GlovError as exc:  # the token file could not be read
                raise KubeflowError("KubeflowUnauthorized", exc.problem, exc.fix) from exc
            except Exception as exc:  # the constructor may call healthz
                raise self._wrap("reach the API", exc) from exc
            _with_timeout(client)
            self._client = client
        return self._client

    def find_run(self, display_name: str) -> KfpRun | None:
        """The newest run named `display_name` (the controller's deterministic name)."""
        predicate = {"operation": "EQUALS", "key": "display_name", "stringValue": display_name}
        try:
            result = self.client().list_runs(
                filter=json.dumps({"predicates": [predicate]}),
                page_size=10,
                sort_by="created_at desc",
                namespace=self.namespace,
            )
        except KubeflowError:
            raise
        except Exception as exc:
            raise self._wrap("list runs", exc) from exc
        runs = [r for r in (result.runs or []) if r.display_name == display_name]
        return _run(runs[0]) if runs else None

    def _experiment_id(self, name: str) -> str:
        with self._experiments_lock:
            if name not in self._experiments:
                exp = self.client().create_experiment(name, namespace=self.namespace)
                self._experiments[name] = str(exp.experiment_id)
            return self._experiments[name]

    def submit(self, request: dict[str, Any], pipeline_spec: dict[str, Any]) -> str:
        """The run kfp.Client.create_run_from_pipeline_package(**request) would
        create, from the package already parsed (`pipeline_spec`, PackageCache);
        the new run's id.

        kfp parses the package YAML on every call with the pure-Python loader:
        measured, two thirds of the operator's CPU while 100 GlovRuns were
        submitted at once. So the run body is built here, as kfp builds it
        (enable_caching None: the compiled caching options stand).
        """
        import kfp_server_api

        try:
            body = kfp_server_api.V2beta1Run(
                experiment_id=self._experiment_id(request["experiment_name"]),
                display_name=request["run_name"],
                pipeline_spec=pipeline_spec,
                runtime_config=kfp_server_api.V2beta1RuntimeConfig(parameters=request["arguments"]),
                service_account=request["service_account"],
            )
            # kfp.Client has no public call that takes a parsed spec.
            result = self.client()._run_api.run_service_create_run(run=body)
        except KubeflowError:
            raise
        except Exception as exc:
            raise self._wrap("create a run", exc) from exc
        return str(result.run_id)

    def get_run(self, run_id: str) -> KfpRun:
        try:
            return _run(self.client().get_run(run_id))
        except KubeflowError:
            raise
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                # Deleted in the UI or by another client: not an outage to wait out.
                raise KubeflowError(
                    RUN_GONE,
                    f"the Kubeflow run {run_id} no longer exists (deleted outside the controller)",
                    f"annotate the GlovRun with {RESUME_ANNOTATION}=<any new value> to start a "
                    "new Kubeflow run in the same run directory (finished steps are reused)",
                ) from exc
            raise self._wrap(f"get run {run_id}", exc) from exc

    def terminate(self, run_id: str) -> None:
        try:
            self.client().terminate_run(run_id)
        except KubeflowError:
            raise
        except Exception as exc:
            raise self._wrap(f"terminate run {run_id}", exc) from exc


def _run(run: Any) -> KfpRun:
    error = getattr(run, "error", None)
    message = getattr(error, "message", None) or ""
    return KfpRun(run_id=str(run.run_id), state=str(run.state or "PENDING"), error=message)


class Clients:
    """One Kubeflow per (endpoint, namespace), shared by all GlovRuns, all with the
    operator's credentials."""

    def __init__(self, auth: KfpAuth | None = None):
        self.auth = auth or KfpAuth()
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str | None], Kubeflow] = {}

    def get(self, endpoint: str, namespace: str | None) -> Kubeflow:
        with self._lock:
            key = (endpoint, namespace)
            if key not in self._by_key:
                self._by_key[key] = Kubeflow(endpoint, namespace, self.auth)
            return self._by_key[key]


class PackageCache:
    """Compiled pipeline packages by config: GlovRuns of one profile compile once."""

    def __init__(self, directory: str | Path | None = None):
        self._dir = Path(directory or tempfile.mkdtemp(prefix="glov-controller-"))
        self._lock = threading.Lock()
        self._specs: dict[Path, dict[str, Any]] = {}

    def pipeline_spec(self, path: Path) -> dict[str, Any]:
        """The package as the run body carries it: the pipeline spec, or
        {pipeline_spec, platform_spec} when it has Kubernetes settings (as kfp sends it).
        Parsed once per package, with libyaml when pyyaml has it."""
        import yaml

        with self._lock:
            if path not in self._specs:
                loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                spec, *platforms = [d for d in yaml.load_all(path.read_text(), Loader=loader) if d]
                platform: dict[str, Any] = {}
                for doc in platforms:
                    platform.update(doc)
                if platform:
                    spec = {"pipeline_spec": spec, "platform_spec": platform}
                self._specs[path] = spec
            return self._specs[path]

    def package(self, plan: PipelinePlan) -> Path:
        from pipelines.compile import compile_pipeline

        digest = hashlib.sha256(config_to_yaml(plan.cfg).encode()).hexdigest()[:16]
        path = self._dir / f"pipeline-{digest}.yaml"
        with self._lock:
            if not path.is_file():
                tmp = compile_pipeline(plan, path.with_suffix(".tmp.yaml"))
                tmp.replace(path)
        return path
