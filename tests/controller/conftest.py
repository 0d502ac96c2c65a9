"""The operator against an emulated Kubernetes API (kmock) and a real KFP test server,
and against a real kube-apiserver (api_backends.py).

`operator` starts the real kopf handlers in this event loop, logged in to the
emulator; `kfp` is tests/servers/kfp.py in its own process (stopped by PID).
The compiled pipeline package is cached for the session: kfp's first compile
takes seconds, the rest of a test a fraction of that.

`kube` is etcd and kube-apiserver for the session (one per xdist worker that
needs them), with the GlovRun CRD installed; `real_api` is a fresh namespace
on it, `api` that or the emulator, whichever the test's `on_both` asks for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import kmock
import kmock as kmock_lib
import kopf
import pytest
from api_backends import KMOCK, Api, AsyncKube, glovrun_crd, install_crd, kmock_api, new_namespace
from api_backends import real_api as real_api_on
from glovrun_emulator import BASE, GLOVRUNS, NAMESPACE
from kopf_operator import running_operator

from controller.kubeflow import PackageCache
from tests.servers.kfp import KfpServer, running_kfp_server
from tests.servers.kube_apiserver import KubeApiServer, running_kube_apiserver
from tests.servers.s3 import free_port


@pytest.fixture(scope="module")
def kfp_module() -> Iterator[KfpServer]:
    with running_kfp_server(free_port()) as server:
        yield server


@pytest.fixture
def kfp(kfp_module: KfpServer) -> KfpServer:
    kfp_module.reset()
    return kfp_module


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> PackageCache:
    return PackageCache(tmp_path_factory.mktemp("packages"))


@pytest.fixture
def store_uri(tmp_path) -> str:
    return f"file://{tmp_path / 'runs'}"


class Cluster:
    """The emulated API server, as kubectl would use it."""

    def __init__(self, api: kmock.KubernetesEmulator):
        self.api = api
        self.url = str(api.url).rstrip("/")

    async def _call(self, method: str, path: str, body: Any = None, ctype: str = "") -> Any:
        headers = {"Content-Type": ctype or "application/json"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.url + path, json=body, headers=headers) as resp,
        ):
            assert resp.status < 300, await resp.text()
            return await resp.json()

    async def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", BASE, body)

    async def patch(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("PATCH", f"{BASE}/{name}", body, "application/merge-patch+json")

    async def delete(self, name: str) -> None:
        await self._call("DELETE", f"{BASE}/{name}")

    def get(self, name: str) -> dict[str, Any] | None:
        key = (GLOVRUNS, NAMESPACE, name)
        if key not in self.api.objects or self.api.objects[key].deleted:
            return None
        return self.api.objects[key].raw

    def status(self, name: str) -> dict[str, Any]:
        return (self.get(name) or {}).get("status") or {}

    def events(self, name: str) -> list[tuple[str, str]]:
        """(type, reason) of the Events about GlovRun `name`, oldest first."""
        out = []
        for (resource, _, _), obj in self.api.objects.items():
            raw = obj.last.raw if obj.deleted else obj.raw
            if resource.plural == "events" and raw.get("involvedObject", {}).get("name") == name:
                out.append((raw.get("type"), raw.get("reason")))
        return out

    def writes(self) -> list[Any]:
        """The bodies of every PATCH the operator sent to GlovRuns."""
        return [r.data for r in self.api["patch"] if "/glovruns/" in str(r.url)]

    async def wait(self, what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = check()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)


@pytest.fixture
def cluster(kmock: kmock.KubernetesEmulator) -> Cluster:
    kmock.resources[GLOVRUNS] = kmock.ResourceInfo(
        kind="GlovRun",
        singular="glovrun",
        namespaced=True,
        subresources={"status"},
        verbs={"get", "list", "watch", "create", "patch", "update", "delete"},
    )
    # What a real API server also lists and kopf waits for in discovery:
    # namespaces and CRDs (not watched: scanning is off), Events (posted).
    core = {"get", "list", "watch", "create", "patch"}
    for (group, version, plural), kind, namespaced in (
        (("", "v1", "namespaces"), "Namespace", False),
        (("", "v1", "events"), "Event", True),
        (
            ("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
            "CustomResourceDefinition",
            False,
        ),
    ):
        kmock.resources[kmock_lib.resource(group, version, plural)] = kmock_lib.ResourceInfo(
            kind=kind, namespaced=namespaced, verbs=core
        )
    return Cluster(kmock)


@pytest.fixture
def operator(cluster: Cluster, packages: PackageCache):
    """`async with operator() as reconciler:` runs the operator; leaving it stops it.

    `auth`: the operator's Kubeflow credentials (default none).
    """
    login = kopf.ConnectionInfo(server=cluster.url, insecure=True)
    return lambda auth=None: running_operator(login, NAMESPACE, packages, auth=auth)


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeApiServer]:
    """etcd + kube-apiserver (built or reused first) with the GlovRun CRD Established."""
    with running_kube_apiserver(tmp_path_factory.mktemp("kube")) as server:
        asyncio.run(install_crd(AsyncKube(server.admin()), glovrun_crd()))
        yield server


@pytest.fixture
def real_api(kube: KubeApiServer) -> Api:
    """A fresh namespace on the real API server, the operator's RBAC applied in it."""
    return real_api_on(kube, new_namespace(kube))


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Api:
    """`on_both`'s parameter: the real API server or kmock's emulator."""
    if request.param == KMOCK:
        cluster: Cluster = request.getfixturevalue("cluster")
        return kmock_api(cluster.url, NAMESPACE)
    return request.getfixturevalue("real_api")
