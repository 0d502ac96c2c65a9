"""The operator against a real kube-apiserver, as its ServiceAccount under its own Role.

The kmock tests (test_operator.py) keep what a real server cannot be made to
do on demand (a run deleted behind the controller, a crash between submit
and status write); these check what only a real server enforces.
"""

from __future__ import annotations

import asyncio

import pytest
from api_backends import on_both, operator_objects
from glovrun_emulator import glovrun
from kopf_operator import running_operator

pytestmark = pytest.mark.asyncio

FINALIZER = "glov.dev/finalizer"


def body(api, name: str, kfp, store_uri: str) -> dict:
    obj = glovrun(name, kfp.url, store_uri)
    obj["metadata"]["namespace"] = api.namespace
    return obj


async def status(api, name: str) -> dict:
    return ((await api.glovrun(name)) or {}).get("status") or {}


def operator_requests(api) -> list[dict]:
    user = f"system:serviceaccount:{api.namespace}:glov-operator"
    # A watch is logged at ResponseStarted when it opens and at ResponseComplete
    # only once the server notices the client went: read right after the
    # operator stops, that second line may not be written yet (a fresh-clone
    # make test saw 'watch' granted but unused). Other requests log only
    # ResponseComplete (the policy omits RequestReceived).
    started = ("ResponseStarted", "ResponseComplete")
    return [e for e in api.server.audit_events(user) if e["stage"] in started]


async def test_the_operator_runs_a_glovrun_through_with_only_its_role(
    real_api, kfp, packages, store_uri
):
    api = real_api
    async with running_operator(api.login, api.namespace, packages):
        await api.admin.create(body(api, "ok", kfp, store_uri))
        run_id = await api.wait(
            "submission", lambda: _field(api, "ok", "kubeflowRunId"), timeout=60
        )
        stored = await api.glovrun("ok")
        # Its status writes went through /status (the only place they can land)...
        assert stored["status"]["phase"] == "Running"
        assert stored["status"]["observedGeneration"] == 1
        # ...and its finalizer and kopf's annotations through the main resource.
        assert stored["metadata"]["finalizers"] == [FINALIZER]
        kfp.set_state(run_id, "SUCCEEDED")
        await api.wait("success", lambda: _phase_is(api, "ok", "Succeeded"), timeout=60)
        await api.admin.delete(api.glovruns("ok"))
        await api.wait("deletion", lambda: _gone(api, "ok"), timeout=60)
        events = await api.admin.get(f"/api/v1/namespaces/{api.namespace}/events")
        reasons = {e["reason"] for e in events["items"]}
        assert {"RunCreated", "RunSucceeded"} <= reasons

    requests = operator_requests(api)
    assert requests, "the audit log holds none of the operator's requests"
    denied = [e["requestURI"] for e in requests if e["responseStatus"]["code"] == 403]
    assert denied == []
    used = {_grant(e) for e in requests if "objectRef" in e}  # discovery: any user may
    (role,) = [o for o in operator_objects(api.namespace) if o["kind"] == "Role"]
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    # Exactly what it needs: every grant used in a run's life, every use granted.
    assert used == granted, {"granted, unused": granted - used, "used": used}


@on_both(kmock_misses="lets a deleting object gain a finalizer, which a real server forbids")
async def test_a_glovrun_deleted_while_the_operator_is_down_waits_for_it(
    api, kfp, packages, store_uri
):
    async with running_operator(api.login, api.namespace, packages):
        await api.admin.create(body(api, "held", kfp, store_uri))
        run_id = await api.wait("submission", lambda: _field(api, "held", "kubeflowRunId"))
        kfp.set_state(run_id, "RUNNING")
        await api.wait("running", lambda: _phase_is(api, "held", "Running"))

    # The operator is gone: deletion stops at its finalizer, and holds there.
    await api.admin.request("DELETE", api.glovruns("held"))
    await asyncio.sleep(1.0)
    held = await api.glovrun("held")
    assert held is not None and held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["finalizers"] == [FINALIZER]
    # Nothing may add a finalizer to an object on its way out.
    resp = await api.admin.request(
        "PATCH",
        api.glovruns("held"),
        {"metadata": {"finalizers": [FINALIZER, "example.com/late"]}},
        content_type="application/merge-patch+json",
    )
    assert resp.status == 422 and "no new finalizers" in resp.body["message"]
    assert (await api.glovrun("held"))["metadata"]["finalizers"] == [FINALIZER]

    # Back up, the operator finishes the deletion: the Kubeflow run ends, then the object.
    async with running_operator(api.login, api.namespace, packages):
        await api.wait("deletion", lambda: _gone(api, "held"))
    (run,) = kfp.runs()
    assert run["run_id"] == run_id and run["state"] == "CANCELED"


async def test_the_operator_watch_survives_an_apiserver_restart(real_api, kfp, packages, store_uri):
    api = real_api
    async with running_operator(api.login, api.namespace, packages):
        await api.admin.create(body(api, "before", kfp, store_uri))
        first = await api.wait("first submission", lambda: _field(api, "before", "kubeflowRunId"))

        # Every watch and connection of kopf's breaks; the server comes back on the
        # same port over the same etcd, as after a control-plane upgrade.
        await asyncio.to_thread(api.server.restart_apiserver)

        await api.admin.create(body(api, "after", kfp, store_uri))
        await api.wait(
            "submission after the restart",
            lambda: _field(api, "after", "kubeflowRunId"),
            timeout=60,
        )
        # The relist finds "before" already submitted: no second run for it.
        kfp.set_state(first, "SUCCEEDED")
        await api.wait(
            "success seen after the restart", lambda: _phase_is(api, "before", "Succeeded")
        )
    names = sorted(r["display_name"] for r in kfp.runs())
    expected = sorted(
        [(await status(api, "before"))["runId"], (await status(api, "after"))["runId"]]
    )
    assert names == expected


def _grant(event: dict) -> tuple[str, str, str]:
    """(API group, resource[/subresource], verb) of an audited request."""
    ref = event["objectRef"]
    resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
    return ref.get("apiGroup", ""), resource, event["verb"]


async def _field(api, name: str, field: str):
    return (await status(api, name)).get(field)


async def _phase_is(api, name: str, phase: str) -> bool:
    return (await status(api, name)).get("phase") == phase


async def _gone(api, name: str) -> bool:
    return await api.glovrun(name) is None
