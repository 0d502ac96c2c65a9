"""Kueue's controller against the test kube-apiserver (tests/servers/kube_apiserver.py).

The binary and Kueue's kustomize components for its CRDs and webhook
configurations come from tests/servers/kube_binaries.py (tool set "kueue").
The controller runs as a process of the test, logged in as the admin, with
its own certificate management (as an in-cluster install has it) and only its
pod integration on: that is how glov's pipeline pods are queued.

Its webhooks are real, because they are how a queued pod gets its scheduling
gate. The API server reaches a webhook through a Service; here that Service
is an ExternalName one naming `localhost`, so kube-apiserver dials the
controller on 127.0.0.1 while checking its certificate against the Service's
DNS name, which is the name Kueue's certificate carries. No kubelet and no
scheduler run: an admitted pod loses its gate, gains its flavor's node
selector, and stays Pending. In the kubelet's place, the fixture copies the
certificate Kueue writes into its Secret to the directory Kueue reads it from.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.servers.kube_apiserver import ADMIN_USER, KubeApiServer, KubeClient
from tests.servers.kube_binaries import Build, ensure_built
from tests.servers.s3 import free_port

NAMESPACE = "kueue-system"
# Kueue's defaults: its certificate is for <service>.<namespace>.svc, and it
# injects its CA into the webhook configurations named after the service.
SERVICE = "kueue-webhook-service"
SECRET = "kueue-webhook-server-cert"  # empty at first, as Kueue's manifests create it
NAME_PREFIX = "kueue-"
WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
READY_TIMEOUT = 180.0


@dataclass
class KueueController:
    server: KubeApiServer
    build: Build
    root: Path
    webhook_port: int = field(default_factory=free_port)
    health_port: int = field(default_factory=free_port)
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    def _component(self, name: str) -> list[dict[str, Any]]:
        """`kubectl kustomize` of one of Kueue's components, its Service references ours."""
        proc = subprocess.run(
            ["kubectl", "kustomize", str(self.build.files / name)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        service = {"name": SERVICE, "namespace": NAMESPACE, "port": self.webhook_port}
        objs = [obj for obj in yaml.safe_load_all(proc.stdout) if obj]
        for obj in objs:
            if obj["kind"] in WEBHOOK_KINDS:
                obj["metadata"]["name"] = NAME_PREFIX + obj["metadata"]["name"]
                configs = [hook["clientConfig"] for hook in obj["webhooks"]]
            elif obj["kind"] == "CustomResourceDefinition":
                webhook = obj["spec"].get("conversion", {}).get("webhook")
                configs = [webhook["clientConfig"]] if webhook else []
            else:
                continue
            for config in configs:
                config["service"] = {**config["service"], **service}
        return objs

    def crds(self) -> list[dict[str, Any]]:
        return [o for o in self._component("crd") if o["kind"] == "CustomResourceDefinition"]

    def webhooks(self) -> list[dict[str, Any]]:
        return [o for o in self._component("webhook") if o["kind"] in WEBHOOK_KINDS]

    def _kubeconfig(self) -> Path:
        pki = self.server.root / "pki"
        cluster = {"server": self.server.url, "certificate-authority": str(self.server.ca_path)}
        user = {"client-certificate": str(pki / "admin.pem"), "client-key": str(pki / "admin.key")}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": cluster}],
            "users": [{"name": ADMIN_USER, "user": user}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": ADMIN_USER}}],
            "current-context": "test",
        }
        path = self.root / "kubeconfig"
        path.write_text(json.dumps(config))
        return path

    def _configuration(self) -> Path:
        config = {
            "apiVersion": "config.kueue.x-k8s.io/v1beta2",
            "kind": "Configuration",
            "namespace": NAMESPACE,
            "health": {"healthProbeBindAddress": f"127.0.0.1:{self.health_port}"},
            "metrics": {"bindAddress": "0"},
            "webhook": {
                "host": "127.0.0.1",
                "port": self.webhook_port,
                "certDir": str(self.root / "webhook-certs"),
            },
            "leaderElection": {"leaderElect": False},
            "internalCertManagement": {"webhookServiceName": SERVICE, "webhookSecretName": SECRET},
            "integrations": {"frameworks": ["pod"]},
        }
        path = self.root / "kueue-config.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self) -> None:
        """CRDs, namespace, Service and webhooks first: Kueue injects its CA into them."""
        self.root.mkdir(parents=True, exist_ok=True)
        admin = self.server.admin()
        for crd in self.crds():
            admin.install_crd(crd)
        admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        admin.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": SECRET, "namespace": NAMESPACE},
            }
        )
        admin.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": SERVICE, "namespace": NAMESPACE},
                "spec": {"type": "ExternalName", "externalName": "localhost"},
            }
        )
        for hook in self.webhooks():
            admin.create(hook)
        log = (self.root / "kueue.log").open("ab")
        try:
            self._proc = subprocess.Popen(
                [
                    str(self.build.binary("kueue")),
                    f"--config={self._configuration()}",
                    # Its visibility API would run as an aggregated API server (delegated
                    # authentication from in-cluster config) and write its certificate
                    # to /visibility: not what these tests look at.
                    "--feature-gates=VisibilityOnDemand=false",
                ],
                env=dict(os.environ, KUBECONFIG=str(self._kubeconfig())),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        finally:
            log.close()
        self._wait_ready()

    def _mount_secret(self, admin: KubeClient) -> bool:
        """The kubelet's part: Kueue writes its certificate into the Secret and waits
        for the files to appear in its certDir, where a Secret volume would put them."""
        certs = self.root / "webhook-certs"
        if (certs / "tls.key").exists():
            return True
        secret = admin.get(f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}")
        data = secret.get("data") or {}
        if not {"ca.crt", "tls.crt", "tls.key"} <= set(data):
            return False
        certs.mkdir(parents=True, exist_ok=True)
        for key in ("ca.crt", "tls.crt", "tls.key"):  # the key last: it marks the set complete
            (certs / key).write_bytes(base64.b64decode(data[key]))
        return True

    def _wait_ready(self) -> None:
        admin = self.server.admin()
        deadline = time.monotonic() + READY_TIMEOUT
        url = f"http://127.0.0.1:{self.health_port}/readyz"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                log = (self.root / "kueue.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"kueue exited with {self._proc.returncode}:\n{log}")
            if not self._mount_secret(admin):
                time.sleep(0.2)
                continue
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"kueue not ready in {READY_TIMEOUT:.0f} s; see {self.root}/kueue.log")

    def stop(self) -> None:
        """Its webhooks go first: left registered, they would refuse the shared
        server's next pods with no controller to answer them."""
        admin = self.server.admin()
        for hook in self.webhooks():
            admin.request("DELETE", admin.path_of(hook))
        if self._proc is None or self._proc.poll() is not None:
            return
        os.kill(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)


@contextlib.contextmanager
def running_kueue(server: KubeApiServer, tmp_dir: Path) -> Iterator[KueueController]:
    """Kueue's CRDs installed and its controller serving `server`, built or reused first."""
    controller = KueueController(server, ensure_built("kueue"), tmp_dir / "kueue")
    try:
        controller.start()
        yield controller
    finally:
        controller.stop()
