"""A real HTTP server on 127.0.0.1 speaking the Kubeflow Pipelines v2beta1 calls the
GlovRun operator makes, for tests.

Served (as the KFP API server answers them, JSON over HTTP):
    GET  /apis/v2beta1/healthz
    GET  /apis/v2beta1/experiments?filter=...      POST /apis/v2beta1/experiments
    GET  /apis/v2beta1/runs?filter=...             POST /apis/v2beta1/runs
    GET  /apis/v2beta1/runs/{id}                   POST /apis/v2beta1/runs/{id}:terminate
Test controls (not KFP):
    GET  /_test/runs                  every run as created, with its request body
    POST /_test/runs/{id}             {"state": "SUCCEEDED"|..., "error": "..."}
    POST /_test/runs/{id}/delete      (the run disappears, as deleted in the UI)
    POST /_test/outage                {"status": 503} answers every KFP call so; 0 ends it
    POST /_test/reset                 forget all runs and experiments

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


STATE = State()


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

    def _route(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        with STATE.lock:
            if path.startswith("/_test/"):
                return self._control(method, path)
            if STATE.outage:
                return self._send(STATE.outage, {"error": "outage", "code": 14})
            if (method, path) == ("GET", f"{API}/healthz"):
                return self._send(200, {"multi_user": False, "pipeline_store": "database"})
            if path == f"{API}/experiments":
                return self._experiments(method)
            if path == f"{API}/runs":
                return self._runs(method)
            m = re.fullmatch(rf"{API}/runs/([^/:]+)(:terminate)?", path)
            if m and m.group(1) in STATE.runs:
                run = STATE.runs[m.group(1)]
                if method == "POST" and m.group(2):
                    if run["state"] not in ("SUCCEEDED", "FAILED", "CANCELED"):
                        run["state"] = "CANCELED"
                    return self._send(200, {})
                if method == "GET" and not m.group(2):
                    return self._send(200, run)
            return self._send(404, {"error": f"no {method} {path}", "code": 5})

    def _experiments(self, method: str) -> None:
        if method == "POST":
            body = self._body()
            exp = {
                "experiment_id": str(uuid.uuid4()),
                "display_name": body.get("display_name"),
                "created_at": CREATED_AT,
            }
            STATE.experiments[exp["experiment_id"]] = exp
            return self._send(200, exp)
        name = _display_name_filter(self._query().get("filter"))
        found = [e for e in STATE.experiments.values() if name in (None, e["display_name"])]
        return self._send(200, {"experiments": found, "total_size": len(found)})

    def _runs(self, method: str) -> None:
        if method == "POST":
            body = self._body()
            run_id = str(uuid.uuid4())
            STATE.requests[run_id] = body
            STATE.runs[run_id] = {
                "run_id": run_id,
                "display_name": body.get("display_name"),
                "experiment_id": body.get("experiment_id"),
                "state": "PENDING",
                "created_at": CREATED_AT,
            }
            return self._send(200, STATE.runs[run_id])
        name = _display_name_filter(self._query().get("filter"))
        found = [r for r in STATE.runs.values() if name in (None, r["display_name"])]
        return self._send(200, {"runs": found, "total_size": len(found)})

    def _control(self, method: str, path: str) -> None:
        if (method, path) == ("GET", "/_test/runs"):
            runs = [{**r, "request": STATE.requests.get(r["run_id"])} for r in STATE.runs.values()]
            return self._send(200, runs)
        if (method, path) == ("POST", "/_test/outage"):
            STATE.outage = int(self._body().get("status") or 0)
            return self._send(200, {})
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
