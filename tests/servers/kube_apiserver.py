"""A real Kubernetes control plane for tests: etcd and kube-apiserver, no kubelet.

What controller-runtime's envtest runs, here from binaries built by
tests/servers/kube_binaries.py. Both listen on free 127.0.0.1 ports, keep their
data in the test's temporary directory and are stopped by the PIDs this module
started. Per run:

- a CA, the API server's serving certificate, and an admin client certificate
  in group system:masters (RBAC lets that group do anything);
- a service-account signing key, so `token_for` can ask the TokenRequest API
  for a real ServiceAccount token (how the operator authenticates in a pod);
- --authorization-mode=RBAC, and an audit log of every request made by a
  ServiceAccount (`audit_events`), so a test can see what the operator did.

Usage:

    with running_kube_apiserver(tmp_path) as kube:
        admin = kube.admin()
        admin.create(namespace_manifest)
        operator = kube.client(token=kube.token_for("glov", "glov-operator"))
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers.kube_binaries import Build, ensure_built
from tests.servers.pki import Authority, new_key, write_cert, write_key, write_public_key
from tests.servers.s3 import free_port

ADMIN_USER = "glov-test-admin"
# What kube-apiserver needs to start but the tests never use (no Services are routed).
SERVICE_RANGE = "10.96.0.0/24"
SA_ISSUER = "https://kubernetes.default.svc"
# Audit only what ServiceAccounts do: the operator's requests, not the test's own.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "Metadata", "userGroups": ["system:serviceaccounts"]},
        {"level": "None"},
    ],
}
# kopf's own streams are long-lived; these bound the waits of the test helpers.
READY_TIMEOUT = 120.0
ESTABLISH_TIMEOUT = 30.0
STOP_GRACE = 15.0


class ApiError(RuntimeError):
    def __init__(self, status: int, body: Any, method: str, path: str):
        self.status, self.body = status, body
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{method} {path}: {status} {message}")


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    warnings: list[str]


@dataclass
class KubeClient:
    """A minimal synchronous API client: one identity, JSON in and out.

    Tests call the API server directly, so each answer (status code, warnings)
    is what the server said; `request` never raises on an HTTP error, the
    verb helpers raise ApiError on anything but 2xx.
    """

    url: str
    context: ssl.SSLContext | None
    token: str | None = field(default=None, repr=False)
    _paths: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict, repr=False)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        timeout: float = 30.0,
    ) -> Response:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.context) as resp:
                status, raw, head = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as err:
            status, raw, head = err.code, err.read(), err.headers
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Response(status, parsed, [_warning_text(w) for w in head.get_all("Warning") or []])

    def _ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        resp = self.request(method, path, body, **kw)
        if resp.status >= 300:
            raise ApiError(resp.status, resp.body, method, path)
        return resp.body

    # Paths from discovery, so any kind the server serves (CRDs included) works.
    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(collection path prefix, namespaced) of `kind` in `api_version`."""
        key = (api_version, kind)
        if key not in self._paths:
            prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            found = self._ok("GET", prefix)
            for res in found["resources"]:
                if "/" not in res["name"]:
                    self._paths[(api_version, res["kind"])] = (
                        f"{prefix}/{{ns}}{res['name']}",
                        res["namespaced"],
                    )
            if key not in self._paths:
                raise KeyError(f"{kind} is not served in {api_version}")
        return self._paths[key]

    def path(
        self, api_version: str, kind: str, namespace: str | None = None, name: str = ""
    ) -> str:
        template, namespaced = self.resource(api_version, kind)
        ns = f"namespaces/{namespace}/" if namespaced and namespace else ""
        return template.format(ns=ns) + (f"/{name}" if name else "")

    def path_of(self, obj: dict[str, Any], *, named: bool = True) -> str:
        meta = obj.get("metadata", {})
        name = meta.get("name", "") if named else ""
        return self.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), name)

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> Any:
        if namespace is not None:
            obj = {**obj, "metadata": {**obj.get("metadata", {}), "namespace": namespace}}
        return self._ok("POST", self.path_of(obj, named=False), obj)

    def install_crd(self, crd: dict[str, Any], timeout: float = ESTABLISH_TIMEOUT) -> Any:
        """Create a CRD (or find it created) and wait until the server says Established."""
        path = self.path("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        resp = self.request("POST", path, crd)
        if resp.status not in (201, 409):
            raise ApiError(resp.status, resp.body, "POST", path)
        named = f"{path}/{crd['metadata']['name']}"
        deadline = time.monotonic() + timeout
        while True:
            found = self.get(named)
            conditions = (found.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {crd['metadata']['name']} not Established: {found}")
            time.sleep(0.1)

    def get(self, path: str) -> Any:
        return self._ok("GET", path)

    def merge_patch(self, path: str, body: Any) -> Any:
        return self._ok("PATCH", path, body, content_type="application/merge-patch+json")

    def delete(self, path: str) -> Any:
        return self._ok("DELETE", path)


@dataclass
class KubeApiServer:
    root: Path
    binaries: Build
    port: int = 0
    etcd_port: int = 0
    _etcd: subprocess.Popen | None = field(default=None, repr=False)
    _apiserver: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> Path:
        return self.root / "pki" / "ca.pem"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.log"

    def make_pki(self) -> None:
        pki = self.root / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        ca = Authority.create("glov test kubernetes CA")
        write_cert(self.ca_path, ca.cert)
        cert, key = ca.issue("kube-apiserver", ips=("127.0.0.1",), dns=("localhost",))
        write_cert(pki / "serving.pem", cert)
        write_key(pki / "serving.key", key)
        cert, key = ca.issue(ADMIN_USER, organizations=("system:masters",), client=True)
        write_cert(pki / "admin.pem", cert)
        write_key(pki / "admin.key", key)
        sa_key = new_key()
        write_key(pki / "sa.key", sa_key)
        write_public_key(pki / "sa.pub", sa_key)
        (self.root / "audit-policy.json").write_text(json.dumps(AUDIT_POLICY))

    def start(self) -> None:
        """etcd (if not running) and kube-apiserver; returns once /readyz answers ok."""
        if self._etcd is None or self._etcd.poll() is not None:
            self._start_etcd()
        self._start_apiserver()

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        finally:
            log.close()

    def _start_etcd(self) -> None:
        self.etcd_port = free_port()
        peer = f"http://127.0.0.1:{free_port()}"
        client = f"http://127.0.0.1:{self.etcd_port}"
        self._etcd = self._spawn("etcd", [
            str(self.binaries.binary("etcd")), "--name", "test",
            "--data-dir", str(self.root / "etcd"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"test={peer}",
            # A test's data need not survive a power cut: no fsync per write.
            "--unsafe-no-fsync", "--log-level", "warn",
        ])  # fmt: skip

    def _start_apiserver(self) -> None:
        self.port = self.port or free_port()
        pki = self.root / "pki"
        self._apiserver = self._spawn("kube-apiserver", [
            str(self.binaries.binary("kube-apiserver")),
            "--etcd-servers", f"http://127.0.0.1:{self.etcd_port}",
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.port), "--cert-dir", str(pki),
            "--tls-cert-file", str(pki / "serving.pem"),
            "--tls-private-key-file", str(pki / "serving.key"),
            "--client-ca-file", str(self.ca_path),
            "--authorization-mode", "RBAC",
            "--service-account-issuer", SA_ISSUER,
            "--service-account-key-file", str(pki / "sa.pub"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--service-cluster-ip-range", SERVICE_RANGE,
            "--audit-policy-file", str(self.root / "audit-policy.json"),
            "--audit-log-path", str(self.audit_log), "--audit-log-format", "json",
            # Flow control's bookkeeping costs CPU that a test server does not need.
            "--enable-priority-and-fairness=false", "--profiling=false",
        ])  # fmt: skip
        self.wait_ready()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        admin = self.admin()
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            for name, proc in (("etcd", self._etcd), ("kube-apiserver", self._apiserver)):
                if proc is not None and proc.poll() is not None:
                    log = (self.root / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log}")
            try:
                resp = admin.request("GET", "/readyz", accept="text/plain", timeout=5)
                if resp.status == 200:
                    return
                last = resp.body
            except OSError as exc:
                last = exc
            time.sleep(0.2)
        raise RuntimeError(f"kube-apiserver not ready within {timeout:.0f} s: {last}")

    def stop_apiserver(self, sig: int = signal.SIGTERM) -> None:
        _stop(self._apiserver, sig)

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again on the same port over the same etcd."""
        self.stop_apiserver()
        self._start_apiserver()

    def stop(self) -> None:
        _stop(self._apiserver)
        _stop(self._etcd)

    # Identities.
    def _context(self, client_cert: bool) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_path))
        if client_cert:
            pki = self.root / "pki"
            context.load_cert_chain(pki / "admin.pem", pki / "admin.key")
        return context

    def admin(self) -> KubeClient:
        """system:masters by client certificate: RBAC allows it everything."""
        return KubeClient(self.url, self._context(client_cert=True))

    def client(self, token: str) -> KubeClient:
        return KubeClient(self.url, self._context(client_cert=False), token)

    def token_for(self, namespace: str, service_account: str, seconds: int = 3600) -> str:
        """A ServiceAccount token from the TokenRequest API, as the kubelet mounts one."""
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token"
        return self.admin()._ok("POST", path, request)["status"]["token"]

    def audit_events(self, user: str) -> list[dict[str, Any]]:
        """The completed requests `user` made, oldest first (watches when they end too)."""
        if not self.audit_log.exists():
            return []
        events = []
        for line in self.audit_log.read_text().splitlines():
            event = json.loads(line)
            if event.get("user", {}).get("username") == user:
                events.append(event)
        return events


def _warning_text(header: str) -> str:
    """The text of an RFC 7234 Warning header as kube-apiserver sends it: `299 - "..."`."""
    match = re.fullmatch(r'\d{3} \S+ "(.*)"', header.strip())
    return match.group(1).replace('\\"', '"') if match else header


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def running_kube_apiserver(tmp_dir: Path) -> Iterator[KubeApiServer]:
    """etcd and kube-apiserver for the duration of the block, built or reused first."""
    server = KubeApiServer(tmp_dir / "kube", ensure_built("apiserver"))
    server.make_pki()
    try:
        server.start()
        yield server
    finally:
        server.stop()
