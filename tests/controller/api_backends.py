"""The API servers the operator's tests run against, behind one interface.

- "kube-apiserver": a real one (tests/servers/kube_apiserver.py) with the
  GlovRun CRD and the operator's ServiceAccount, Role and RoleBinding applied
  from manifests/base/operator into a namespace of the test's own. The admin
  is system:masters; the operator is its ServiceAccount, by a real token.
- "kmock": kmock's emulator as tests/controller/conftest.py sets it up. It
  authenticates nobody, so both identities are the same client.

`on_both(kmock_misses=...)` runs a test against each; the kmock run is a strict
xfail, so the suite shows, test by test, what the emulator does not enforce,
and fails if it ever starts to.

A uniquely named module rather than conftest.py (test folders have no __init__.py).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml

from tests.servers.kube_apiserver import KubeApiServer, KubeClient, Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from deploy_helpers import MANIFESTS, kubectl  # noqa: E402

OPERATOR_MANIFESTS = MANIFESTS / "base" / "operator"
OPERATOR_SA = "glov-operator"
GROUP_VERSION = "glov.dev/v1alpha1"
REAL, KMOCK = "kube-apiserver", "kmock"
_namespaces = itertools.count()


class AsyncKube:
    """KubeClient's calls in a thread: kmock's emulator serves from this event loop."""

    def __init__(self, client: KubeClient):
        self.client = client

    async def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Response:
        return await asyncio.to_thread(self.client.request, method, path, body, **kw)

    async def create(self, obj: dict[str, Any], namespace: str | None = None) -> Any:
        return await asyncio.to_thread(self.client.create, obj, namespace)

    async def get(self, path: str) -> Any:
        return await asyncio.to_thread(self.client.get, path)

    async def merge_patch(self, path: str, body: Any) -> Any:
        return await asyncio.to_thread(self.client.merge_patch, path, body)

    async def delete(self, path: str) -> Any:
        return await asyncio.to_thread(self.client.delete, path)

    async def path(
        self, api_version: str, kind: str, namespace: str | None = None, name: str = ""
    ) -> str:
        return await asyncio.to_thread(self.client.path, api_version, kind, namespace, name)


@dataclass
class Api:
    name: str
    admin: AsyncKube
    operator: AsyncKube
    namespace: str
    login: kopf.ConnectionInfo
    server: KubeApiServer | None = None

    def glovruns(self, name: str = "") -> str:
        base = f"/apis/{GROUP_VERSION}/namespaces/{self.namespace}/glovruns"
        return f"{base}/{name}" if name else base

    async def glovrun(self, name: str) -> dict[str, Any] | None:
        resp = await self.admin.request("GET", self.glovruns(name))
        return resp.body if resp.status == 200 else None

    async def wait(self, what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Poll the async `check` until it returns something truthy."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await check()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} ({self.name})")
            await asyncio.sleep(0.1)


def on_both(kmock_misses: str) -> pytest.MarkDecorator:
    """Run the test against the real API server and, expected to fail, against kmock."""
    from glovrun_emulator import ApiServerEmulator

    return pytest.mark.parametrize(
        "api",
        [
            pytest.param(REAL, id=REAL),
            pytest.param(
                KMOCK,
                id=KMOCK,
                marks=[
                    pytest.mark.xfail(strict=True, reason=f"kmock's emulator {kmock_misses}"),
                    pytest.mark.kmock(cls=ApiServerEmulator),
                ],
            ),
        ],
        indirect=True,
    )


@functools.cache
def operator_objects(namespace: str) -> list[dict[str, Any]]:
    """manifests/base/operator as `kubectl apply -k` would place it in `namespace`.

    The RoleBinding's subject moves with it: kustomize's plain `namespace:`
    field leaves a ServiceAccount subject in its original namespace.
    """
    transformer = {
        "apiVersion": "builtin",
        "kind": "NamespaceTransformer",
        "metadata": {"name": "test-namespace", "namespace": namespace},
        "setRoleBindingSubjects": "allServiceAccounts",
    }
    with tempfile.TemporaryDirectory(prefix="glov-operator-kustomize-") as tmp:
        here = Path(tmp)
        resource = os.path.relpath(OPERATOR_MANIFESTS, here)
        kustomization = {"resources": [resource], "transformers": [yaml.safe_dump(transformer)]}
        (here / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        proc = subprocess.run(
            [kubectl(), "kustomize", str(here)], capture_output=True, text=True, timeout=60
        )
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def glovrun_crd() -> dict[str, Any]:
    (crd,) = [o for o in operator_objects("glov") if o["kind"] == "CustomResourceDefinition"]
    return crd


async def install_crd(admin: AsyncKube, crd: dict[str, Any]) -> dict[str, Any]:
    """KubeClient.install_crd: created (or found) and Established, or TimeoutError."""
    return await asyncio.to_thread(admin.client.install_crd, crd)


def new_namespace(server: KubeApiServer) -> str:
    """A namespace with the operator's identity and Role in it, as a deploy would make it."""
    name = f"glov-t{os.getpid()}-{next(_namespaces)}"
    admin = server.admin()
    admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    for obj in operator_objects(name):
        if obj["kind"] in ("ServiceAccount", "Role", "RoleBinding"):
            admin.create(obj)
    return name


def real_api(server: KubeApiServer, namespace: str) -> Api:
    token = server.token_for(namespace, OPERATOR_SA)
    login = kopf.ConnectionInfo(
        server=server.url, ca_path=str(server.ca_path), scheme="Bearer", token=token
    )
    return Api(
        REAL,
        AsyncKube(server.admin()),
        AsyncKube(server.client(token)),
        namespace,
        login,
        server,
    )


def kmock_api(url: str, namespace: str) -> Api:
    client = AsyncKube(KubeClient(url, None))
    login = kopf.ConnectionInfo(server=url, insecure=True)
    return Api(KMOCK, client, client, namespace, login)
