"""A real HTTP server on 127.0.0.1 speaking the Kubeflow Pipelines v2beta1 calls the
GlovRun operator makes, for tests.

Served (as the KFP API server answers them, JSON over HTTP):
    GET  /apis/v2beta1/healthz
    GET  /apis/v2beta1/experiments?filter=...      POST /apis/v2beta1/experiments
    GET  /apis/v2beta1/runs?filter=...             POST /apis/v2beta1/runs
    GET  /apis/v2beta1/runs/{id}                   POST /apis/v2beta1/runs/{id}:terminate
Test controls (not KFP):
    GET  /_test/runs                  every run as created, with its request body
    GET  /_test/names                 [run id, display name] of every run (cheap)
    GET  /_test/calls, /_test/refusals  how many API calls came; the refused ones
    POST /_test/runs/{id}             {"state": "SUCCEEDED"|..., "error": "..."}
    POST /_test/runs/{id}/delete      (the run disappears, as deleted in the UI)
    POST /_test/outage                {"status": 503} answers every KFP call so; 0 ends it
    POST /_test/multi-user            {"tokens": {TOKEN: {"identity": ..., "namespaces": [...]}}}
                                      turns multi-user mode on (null: off), as below
    POST /_test/auto                  {"running_after": s, "succeed_after": s}: runs move on
                                      by themselves, seconds after their creation (0: off)
    POST /_test/reset                 forget all runs and experiments, single-user, no auto

Multi-user mode, as a multi-user Kubeflow Pipelines answers (its API server
checks the bearer token with a TokenReview, then the namespace with a
SubjectAccessReview): healthz reports multi_user true; any other call without
`Authorization: Bearer <a known token>` gets 401; a call about a namespace the
token's identity may not use gets 403; a list or an experiment without a
namespace gets 400. A run's namespace is its experiment's.

Run as a script (`python tests/servers/kfp.py PORT`); `running_kfp_server()`
starts it on a free port and stops it by its PID, never by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

API = "/apis/v2beta1"
CREATED_AT = "2026-01-01T00:00:00Z"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, dict[str, Any]] = {}
        self.experiments: dict[str, dict[str, Any]] = {}
        self.outage = 0
        # token -> {"identity": str, "namespaces": [str]}; None: single-user.
        self.tokens: dict[str, dict[str, Any]] | None = None
        self.running_after = 0.0
        self.succeed_after = 0.0
        self.created: dict[str, float] = {}  # run id -> monotonic creation time
        self.refusals: list[tuple[int, str, str]] = []  # (status, method, path)
        self.calls = 0  # KFP API calls answered (healthz aside)


STATE = State()


class Refused(Exception):
    def __init__(self, status: int, message: str, code: int):
        self.status, self.message, self.code = status, message, code


def _display_name_filter(raw: str | None) -> str | None:
    """The display_name of an EQUALS predicate (the only filter kfp.Client sends us)."""
    if not raw:
        return None
    for p in json.loads(raw).get("predicates", []):
        if p.get("key") == "display_name" and p.get("operation") in ("EQUALS", 1):
            return p.get("string_value") or p.get("stringValue")
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # quiet: tests read state, not logs
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _query(self) -> dict[str, str]:
        from urllib.parse import parse_qsl, urlsplit

        return dict(parse_qsl(urlsplit(self.path).query))

    def _identity(self) -> dict[str, Any] | None:
        """The caller in multi-user mode (401 without a known token); None in single-user."""
        if STATE.tokens is None:
            return None
        header = self.headers.get("Authorization") or ""
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if token not in STATE.tokens:
            raise Refused(401, "Unauthenticated: no valid bearer token in the request", 16)
        return STATE.tokens[token]

    def _authorize(self, who: dict[str, Any] | None, namespace: str | None, verb: str) -> None:
        if who is None:
            return
        if not namespace:
            raise Refused(400, f"Invalid input: in multi-user mode, {verb} needs a namespace", 3)
        if namespace not in who["namespaces"]:
            raise Refused(
                403,
                f"PermissionDenied: {who['identity']} is not authorized to {verb} in namespace "
                f"{namespace}",
                7,
            )

    def _advance(self) -> None:
        """Runs that move on by themselves (POST /_test/auto)."""
        if not (STATE.running_after or STATE.succeed_after):
            return
        now = time.monotonic()
        for run_id, created in STATE.created.items():
            run = STATE.runs.get(run_id)
            if run is None or run["state"] not in ("PENDING", "RUNNING"):
                continue
            age = now - created
            if STATE.succeed_after and age >= STATE.succeed_after:
                run["state"] = "SUCCEEDED"
            elif STATE.running_after and age >= STATE.running_after:
                run["state"] = "RUNNING"

    def _route(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        with STATE.lock:
            if path.startswith("/_test/"):
                return self._control(method, path)
            if STATE.outage:
                return self._send(STATE.outage, {"error": "outage", "code": 14})
            if (method, path) == ("GET", f"{API}/healthz"):
                multi = STATE.tokens is not None
                return self._send(200, {"multi_user": multi, "pipeline_store": "database"})
            self._advance()
            STATE.calls += 1
            try:
                return self._api(method, path)
            except Refused as exc:
                STATE.refusals.append((exc.status, method, path))
                return self._send(exc.status, {"error": exc.message, "code": exc.code})

    def _api(self, method: str, path: str) -> None:
        who = self._identity()
        if path == f"{API}/experiments":
            return self._experiments(method, who)
        if path == f"{API}/runs":
            return self._runs(method, who)
        m = re.fullmatch(rf"{API}/runs/([^/:]+)(:terminate)?", path)
        if m and m.group(1) in STATE.runs:
            run = STATE.runs[m.group(1)]
            verb = "terminate runs" if m.group(2) else "get runs"
            self._authorize(who, run.get("namespace"), verb)
            if method == "POST" and m.group(2):
                if run["state"] not in ("SUCCEEDED", "FAILED", "CANCELED"):
                    run["state"] = "CANCELED"
                return self._send(200, {})
            if method == "GET" and not m.group(2):
                return self._send(200, run)
        return self._send(404, {"error": f"no {method} {path}", "code": 5})

    def _experiments(self, method: str, who: dict[str, Any] | None) -> None:
        if method == "POST":
            body = self._body()
            self._authorize(who, body.get("namespace"), "create experiments")
            namespace = body.get("namespace") or ""
            for other in STATE.experiments.values():
                # Kubeflow keeps experiment names unique per namespace.
                if (other["display_name"], other["namespace"]) == (
                    body.get("display_name"),
                    namespace,
                ):
                    message = f"experiment {other['display_name']} already exists"
                    return self._send(409, {"error": message, "code": 6})
            exp = {
                "experiment_id": str(uuid.uuid4()),
                "display_name": body.get("display_name"),
                "namespace": namespace,
                "created_at": CREATED_AT,
            }
            STATE.experiments[exp["experiment_id"]] = exp
            return self._send(200, exp)
        return self._list("experiments", STATE.experiments, who)

    def _runs(self, method: str, who: dict[str, Any] | None) -> None:
        if method == "POST":
            body = self._body()
            experiment = STATE.experiments.get(body.get("experiment_id") or "") or {}
            namespace = experiment.get("namespace") or ""
            self._authorize(who, namespace, "create runs")
            run_id = str(uuid.uuid4())
            STATE.requests[run_id] = body
            STATE.created[run_id] = time.monotonic()
            STATE.runs[run_id] = {
                "run_id": run_id,
                "display_name": body.get("display_name"),
                "experiment_id": body.get("experiment_id"),
                "namespace": namespace,
                "state": "PENDING",
                "created_at": CREATED_AT,
            }
            return self._send(200, STATE.runs[run_id])
        return self._list("runs", STATE.runs, who)

    def _list(self, kind: str, items: dict[str, dict], who: dict[str, Any] | None) -> None:
        """A list call: by display name, and in multi-user mode by namespace."""
        query = self._query()
        namespace = query.get("namespace")
        self._authorize(who, namespace, f"list {kind}")
        name = _display_name_filter(query.get("filter"))
        found = [
            item
            for item in items.values()
            if name in (None, item["display_name"])
            and (who is None or item["namespace"] == namespace)
        ]
        return self._send(200, {kind: found, "total_size": len(found)})

    def _control(self, method: str, path: str) -> None:
        if (method, path) == ("GET", "/_test/runs"):
            runs = [{**r, "request": STATE.requests.get(r["run_id"])} for r in STATE.runs.values()]
            return self._send(200, runs)
        if (method, path) == ("POST", "/_test/outage"):
            STATE.outage = int(self._body().get("status") or 0)
            return self._send(200, {})
        if (method, path) == ("POST", "/_test/multi-user"):
            STATE.tokens = self._body().get("tokens")
            return self._send(200, {})
        if (method, path) == ("POST", "/_test/auto"):
            body = self._body()
            STATE.running_after = float(body.get("running_after") or 0)
            STATE.succeed_after = float(body.get("succeed_after") or 0)
            return self._send(200, {})
        if (method, path) == ("GET", "/_test/refusals"):
            return self._send(200, STATE.refusals)
        if (method, path) == ("GET", "/_test/names"):
            names = [[r["run_id"], r["display_name"]] for r in STATE.runs.values()]
            return self._send(200, names)
        if (method, path) == ("GET", "/_test/calls"):
            return self._send(200, {"calls": STATE.calls})
        if (method, path) == ("POST", "/_test/reset"):
            STATE.reset()
            return self._send(200, {})
        m = re.fullmatch(r"/_test/runs/([^/]+)/delete", path)
        if method == "POST" and m and m.group(1) in STATE.runs:
            del STATE.runs[m.group(1)]  # as a user deleting it in the Kubeflow UI
            return self._send(200, {})
        m = re.fullmatch(r"/_test/runs/([^/]+)", path)
        if method == "POST" and m and m.group(1) in STATE.runs:
            body = self._body()
            run = STATE.runs[m.group(1)]
            run["state"] = body["state"]
            if body.get("error"):
                run["error"] = {"code": 2, "message": body["error"]}
            return self._send(200, run)
        return self._send(404, {"error": f"no {method} {path}"})

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")


# --- the test side -------------------------------------------------------------


@dataclass
class KfpServer:
    port: int
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def runs(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_test/runs")

    def set_state(self, run_id: str, state: str, error: str = "") -> None:
        self._call("POST", f"/_test/runs/{run_id}", {"state": state, "error": error})

    def delete_run(self, run_id: str) -> None:
        self._call("POST", f"/_test/runs/{run_id}/delete", {})

    def outage(self, status: int) -> None:
        self._call("POST", "/_test/outage", {"status": status})

    def reset(self) -> None:
        self._call("POST", "/_test/reset", {})

    def multi_user(self, tokens: dict[str, dict[str, Any]] | None) -> None:
        """{token: {"identity": ..., "namespaces": [...]}}; None: back to single-user."""
        self._call("POST", "/_test/multi-user", {"tokens": tokens})

    def auto(self, running_after: float = 0, succeed_after: float = 0) -> None:
        self._call(
            "POST", "/_test/auto", {"running_after": running_after, "succeed_after": succeed_after}
        )

    def names(self) -> list[tuple[str, str]]:
        """(run id, display name) of every run: runs() without the request bodies."""
        return [tuple(r) for r in self._call("GET", "/_test/names")]

    def calls(self) -> int:
        """KFP API calls answered so far (healthz aside)."""
        return self._call("GET", "/_test/calls")["calls"]

    def refusals(self) -> list[tuple[int, str, str]]:
        """(status, method, path) of every call refused in multi-user mode."""
        return [tuple(r) for r in self._call("GET", "/_test/refusals")]

    def create_run(self, display_name: str) -> str:
        """A run as another controller process would have created it."""
        return self._call("POST", f"{API}/runs", {"display_name": display_name})["run_id"]


@contextlib.contextmanager
def running_kfp_server(port: int) -> Iterator[KfpServer]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = KfpServer(port, proc)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                server._call("GET", f"{API}/healthz")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"the KFP test server did not start: {err}") from None
                time.sleep(0.05)
        yield server
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.stderr:
            proc.stderr.close()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
