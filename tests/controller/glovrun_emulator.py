"""kmock's Kubernetes emulator plus the metadata a real API server maintains.

kmock stores objects as plain JSON and merges patches; the operator (through
kopf) also relies on what the API server adds: a uid, metadata.generation
bumped on spec changes only, a resourceVersion that changes on every write
(kopf's finalizer JSON-patches test it), names for `generateName` (kopf's
Events), and deletionTimestamp on a delete held by finalizers. This subclass
adds those, as the emulator's docstring invites.

Also the shared constants and the GlovRun body the tests apply. A uniquely
named module rather than conftest.py (test folders have no __init__.py).
"""

from __future__ import annotations

import datetime
import itertools
import uuid
from typing import Any

import attrs
import jsonpointer
import kmock
from kmock._internal import enums

GLOVRUNS = kmock.resource("glov.dev", "v1alpha1", "glovruns")
NAMESPACE = "glov"
POLL = 0.2
BASE = f"/apis/glov.dev/v1alpha1/namespaces/{NAMESPACE}/glovruns"


def glovrun(name: str, endpoint: str, store_uri: str, **spec: Any) -> dict[str, Any]:
    """A GlovRun as a user would apply it (one config for all: one compile)."""
    body = {
        "apiVersion": "glov.dev/v1alpha1",
        "kind": "GlovRun",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "profile": "smoke",
            "overrides": ["search.steps=2"],
            "kubeflow": {"endpoint": endpoint, "experiment": "glov-test"},
            "storeUri": store_uri,
            **spec,
        },
    }
    return body


@attrs.frozen
class ConflictingPatchError(kmock.KubernetesError):
    """A JSON patch whose `test` fails: 422 as a real API server answers (kmock: 500)."""

    status: int = 422
    reason: str = "Invalid"
    message: str = "the object changed since the resourceVersion the patch tests"


# The RBAC verb of a request, as the API server's authorizer names it.
def rbac_verb(method: str, name: str | None, params: Any) -> str:
    if method == "GET":
        if name:
            return "get"
        return "watch" if params.get("watch") in ("true", "1") else "list"
    return {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}[method]


@attrs.define(kw_only=True)
class ApiServerEmulator(kmock.KubernetesEmulator):
    _versions: Any = attrs.field(factory=lambda: itertools.count(1), init=False)
    # (API group, resource[/subresource], RBAC verb) of every resource request
    # the operator (kopf's User-Agent) sent; discovery is not a resource request.
    operator_calls: set[tuple[str, str, str]] = attrs.field(factory=set, init=False)

    def _stored(self, request: Any) -> Any:
        key = (request.resource, request.namespace, request.name)
        if key in self._objects and not self._objects[key].deleted:
            return self._objects[key]
        return None

    async def _handle(self, request: Any) -> Any:
        if request.resource is not None:
            kopf = (request.headers.get("User-Agent") or "").startswith("kopf/")
            if kopf and request.resource.plural:  # not discovery (/apis/GROUP/VERSION)
                plural = request.resource.plural
                if request.subresource:
                    plural = f"{plural}/{request.subresource}"
                verb = rbac_verb(str(request.method.value).upper(), request.name, request.params)
                self.operator_calls.add((request.resource.group or "", plural, verb))
            await self._stamp(request)
        return await super()._handle(request)

    async def _stamp(self, request: Any) -> None:
        rv = str(next(self._versions))
        data = request.data
        if request.action == enums.action.CREATE and isinstance(data, dict):
            meta = data.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("namespace", request.namespace)
            meta.setdefault("creationTimestamp", _now())
            meta["generation"] = 1
            meta["resourceVersion"] = rv
        elif request.action == enums.action.UPDATE and (obj := self._stored(request)):
            on_main = request.subresource is None
            if isinstance(data, dict):
                meta = data.setdefault("metadata", {})
                meta["resourceVersion"] = rv
                if on_main and "spec" in data and data["spec"] != obj.get("spec"):
                    meta["generation"] = obj["metadata"].get("generation", 1) + 1
            elif isinstance(data, list):  # a JSON patch: its tests first, then the new version
                for op in data:
                    found = jsonpointer.resolve_pointer(obj.raw, op["path"], None)
                    if op["op"] == "test" and found != op.get("value"):
                        raise ConflictingPatchError()
                data.append({"op": "add", "path": "/metadata/resourceVersion", "value": rv})
        elif request.action == enums.action.DELETE and (obj := self._stored(request)):
            meta = obj.get("metadata", {})
            if meta.get("finalizers") and not meta.get("deletionTimestamp"):
                # kmock would mark it too, but without a new resourceVersion.
                async with self._lock:
                    stamp = {"deletionTimestamp": _now(), "resourceVersion": rv}
                    obj.patch({"metadata": stamp})
                    await self._buses[request.resource].put({"type": "MODIFIED", "object": obj.raw})


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
