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
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.spec import RESUME_ANNOTATION
from glov.config import GlovConfig, config_to_yaml
from glov.errors import GlovError

# Seconds per HTTP request: kfp.Client sets none, and a hung API server would
# otherwise hold a handler thread (and the object's lock) forever.
REQUEST_TIMEOUT = 30
TERMINAL_STATES = {"SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"}
# KubeflowError.reason when the followed run was deleted behind the controller's back.
RUN_GONE = "RunDeleted"


class KubeflowError(GlovError):
    """A Kubeflow call that failed; `reason` is the condition reason it becomes."""

    def __init__(self, reason: str, problem: str, fix: str | None = None):
        self.reason = reason
        super().__init__(problem, fix)


@dataclass(frozen=True)
class KfpRun:
    run_id: str
    state: str
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES


def _wrap(operation: str, endpoint: str, exc: Exception) -> KubeflowError:
    status = getattr(exc, "status", getattr(exc, "code", None))
    if isinstance(status, int) and 400 <= status < 500:
        body = getattr(exc, "body", "") or ""
        return KubeflowError(
            "KubeflowRejected",
            f"Kubeflow refused to {operation} (HTTP {status}): {str(body)[:300]}",
            "check spec.kubeflow (experiment, namespace) and the controller's access",
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

    def __init__(self, endpoint: str, namespace: str | None = None):
        self.endpoint = endpoint
        self.namespace = namespace
        self._client: Any = None

    def _healthz(self) -> None:
        """Fail fast: kfp.Client's own healthz call retries for about half a minute."""
        url = f"{self.endpoint}/apis/v2beta1/healthz"
        try:
            with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as resp:
                resp.read()
        except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            raise _wrap("reach the API", self.endpoint, exc) from exc

    def client(self) -> Any:
        if self._client is None:
            import kfp

            self._healthz()

            with warnings.catch_warnings():
                # "This client only works with Kubeflow Pipeline v2.0.0-beta.2 and later".
                warnings.simplefilter("ignore", FutureWarning)
                try:
                    if self.namespace:
                        client = kfp.Client(host=self.endpoint, namespace=self.namespace)
                    else:
                        client = kfp.Client(host=self.endpoint)
                except Exception as exc:  # the constructor calls healthz
                    raise _wrap("reach the API", self.endpoint, exc) from exc
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
            raise _wrap("list runs", self.endpoint, exc) from exc
        runs = [r for r in (result.runs or []) if r.display_name == display_name]
        return _run(runs[0]) if runs else None

    def submit(self, request: dict[str, Any]) -> str:
        """create_run_from_pipeline_package(**request); the new run's id."""
        try:
            result = self.client().create_run_from_pipeline_package(**request)
        except KubeflowError:
            raise
        except Exception as exc:
            raise _wrap("create a run", self.endpoint, exc) from exc
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
            raise _wrap(f"get run {run_id}", self.endpoint, exc) from exc

    def terminate(self, run_id: str) -> None:
        try:
            self.client().terminate_run(run_id)
        except KubeflowError:
            raise
        except Exception as exc:
            raise _wrap(f"terminate run {run_id}", self.endpoint, exc) from exc


def _run(run: Any) -> KfpRun:
    error = getattr(run, "error", None)
    message = getattr(error, "message", None) or ""
    return KfpRun(run_id=str(run.run_id), state=str(run.state or "PENDING"), error=message)


class Clients:
    """One Kubeflow per (endpoint, namespace), shared by all GlovRuns."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str | None], Kubeflow] = {}

    def get(self, endpoint: str, namespace: str | None) -> Kubeflow:
        with self._lock:
            key = (endpoint, namespace)
            if key not in self._by_key:
                self._by_key[key] = Kubeflow(endpoint, namespace)
            return self._by_key[key]


class PackageCache:
    """Compiled pipeline packages by config: GlovRuns of one profile compile once."""

    def __init__(self, directory: str | Path | None = None):
        self._dir = Path(directory or tempfile.mkdtemp(prefix="glov-controller-"))
        self._lock = threading.Lock()

    def package(self, cfg: GlovConfig) -> Path:
        from pipelines.compile import compile_pipeline

        digest = hashlib.sha256(config_to_yaml(cfg).encode()).hexdigest()[:16]
        path = self._dir / f"pipeline-{digest}.yaml"
        with self._lock:
            if not path.is_file():
                tmp = compile_pipeline(cfg, path.with_suffix(".tmp.yaml"))
                tmp.replace(path)
        return path
