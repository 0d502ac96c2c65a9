"""The GlovRun CRD and the operator's Role, as a real kube-apiserver enforces them.

Each test also runs against kmock's emulator as a strict xfail (api_backends.on_both):
the reason names what the emulator does not enforce.
"""

from __future__ import annotations

import pytest
from api_backends import GROUP_VERSION, glovrun_crd, install_crd, on_both
from glovrun_emulator import glovrun

pytestmark = pytest.mark.asyncio

ENDPOINT = "http://ml-pipeline.kubeflow:8888"
STORE = "s3://glov/runs"


def run(api, name: str, **spec) -> dict:
    body = glovrun(name, ENDPOINT, STORE, **spec)
    body["metadata"]["namespace"] = api.namespace
    return body


def condition(obj: dict, type_: str) -> dict:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


@on_both(kmock_misses="has no CRD controller: nothing marks a CRD Established")
async def test_the_crd_is_established_and_served_with_its_printer_columns(api):
    crd = await install_crd(api.admin, glovrun_crd())
    assert condition(crd, "NamesAccepted")["status"] == "True"
    assert crd["status"]["acceptedNames"]["shortNames"] == ["glr"]
    # Discovery serves the resource with its status subresource.
    found = await api.admin.get(f"/apis/{GROUP_VERSION}")
    names = {r["name"]: r for r in found["resources"]}
    assert {"glovruns", "glovruns/status"} <= set(names)
    assert names["glovruns"]["categories"] == ["glov"]

    # The server itself computes the printer columns `kubectl get glr` shows.
    await api.admin.create(run(api, "columns"))
    await api.admin.merge_patch(
        api.glovruns("columns") + "/status", {"status": {"phase": "Running", "step": "1/4"}}
    )
    resp = await api.admin.request(
        "GET", api.glovruns(), accept="application/json;as=Table;v=v1;g=meta.k8s.io"
    )
    table = resp.body
    columns = [c["name"] for c in table["columnDefinitions"]]
    (row,) = table["rows"]
    cells = dict(zip(columns, row["cells"], strict=True))
    assert {k: cells[k] for k in ("Name", "Phase", "Step")} == {
        "Name": "columns",
        "Phase": "Running",
        "Step": "1/4",
    }
    assert "Best" in cells and "Age" in cells


@on_both(kmock_misses="stores every field it is sent: no structural schema, no pruning")
async def test_unknown_fields_are_pruned_and_named_in_a_warning(api):
    body = run(api, "pruned", colour="blue", config={"search": {"steps": 3}})
    del body["spec"]["profile"]  # a config replaces the profile
    body["spec"]["kubeflow"]["endpiont"] = "http://typo"
    resp = await api.admin.request("POST", api.glovruns(), body)
    assert resp.status < 300, resp.body
    stored = await api.glovrun("pruned")
    assert "colour" not in stored["spec"] and "endpiont" not in stored["spec"]["kubeflow"]
    # spec.config keeps unknown fields on purpose: it is a whole glov config.
    assert stored["spec"]["config"] == {"search": {"steps": 3}}
    warnings = " ".join(resp.warnings)
    assert 'unknown field "spec.colour"' in warnings
    assert 'unknown field "spec.kubeflow.endpiont"' in warnings

    # Asked to be strict (kubectl --validate=strict), the server refuses instead.
    body["metadata"]["name"] = "strict"
    resp = await api.admin.request("POST", api.glovruns() + "?fieldValidation=Strict", body)
    assert resp.status == 400 and 'unknown field "spec.colour"' in resp.body["message"]
    assert await api.glovrun("strict") is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kubeflow": {"experiment": "no-endpoint"}}, "spec.kubeflow.endpoint"),
        ({"runId": "../escape"}, "spec.runId"),
        ({"overrides": "search.steps=2"}, "spec.overrides"),
        ({"kubeflow": None}, "spec.kubeflow"),
    ],
    ids=["no-endpoint", "bad-run-id", "overrides-not-a-list", "no-kubeflow"],
)
@on_both(kmock_misses="accepts any JSON: the schema's types, patterns and required fields")
async def test_a_glovrun_that_breaks_the_schema_is_refused_at_admission(api, change, field):
    body = run(api, "bad")
    body["spec"].update(change)
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    resp = await api.admin.request("POST", api.glovruns(), body)
    assert resp.status == 422, resp.body
    causes = [c["field"] for c in resp.body["details"]["causes"]]
    assert field in causes, causes
    assert await api.glovrun("bad") is None


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"kubeflow": {"endpoint": "ml-pipeline.kubeflow:8888"}}, "spec.kubeflow.endpoint", "http"),
        ({"config": {"search": {"steps": 2}}}, "spec", "profile"),
        ({"storeUri": "/data/runs"}, "spec.storeUri", "s3://"),
        ({"kueue": {"priorityClass": "glov-batch"}}, "spec.kueue", "queueName"),
    ],
    ids=[
        "endpoint-without-scheme",
        "profile-and-config",
        "store-uri-without-scheme",
        "kueue-priority-without-queue",
    ],
)
@on_both(kmock_misses="evaluates no CEL rule (x-kubernetes-validations)")
async def test_the_crd_cel_rules_refuse_what_the_operator_would_mark_invalid(
    api, change, field, words
):
    """The rules of the shared-clusters issue: caught at admission, not by the operator later."""
    body = run(api, "cel")
    body["spec"].update(change)
    resp = await api.admin.request("POST", api.glovruns(), body)
    assert resp.status == 422, resp.body
    causes = {c["field"]: c["message"] for c in resp.body["details"]["causes"]}
    assert field in causes and words in causes[field], causes
    assert await api.glovrun("cel") is None


@on_both(kmock_misses="stores status sent to the main resource and spec sent to /status")
async def test_status_is_written_only_through_the_status_subresource(api):
    created = await api.admin.create(run(api, "split"))
    assert created["metadata"]["generation"] == 1

    # Status on the main resource is dropped; the rest of the patch applies.
    await api.admin.merge_patch(
        api.glovruns("split"),
        {"metadata": {"labels": {"team": "a"}}, "status": {"phase": "Succeeded"}},
    )
    stored = await api.glovrun("split")
    assert stored["metadata"]["labels"] == {"team": "a"}
    assert "status" not in stored

    # Spec on /status is dropped; the status applies and bumps no generation.
    await api.admin.merge_patch(
        api.glovruns("split") + "/status",
        {"spec": {"profile": "paper-clip"}, "status": {"phase": "Running"}},
    )
    stored = await api.glovrun("split")
    assert stored["status"] == {"phase": "Running"}
    assert stored["spec"]["profile"] == "smoke" and stored["metadata"]["generation"] == 1

    # A status outside its schema is refused on the subresource too.
    resp = await api.admin.request(
        "PATCH",
        api.glovruns("split") + "/status",
        {"status": {"phase": "Done"}},
        content_type="application/merge-patch+json",
    )
    assert resp.status == 422 and "status.phase" in resp.body["message"]


@on_both(kmock_misses="ignores resourceVersion preconditions: a stale write wins")
async def test_a_write_from_a_stale_resource_version_is_refused(api):
    first = await api.admin.create(run(api, "stale"))
    stale = first["metadata"]["resourceVersion"]
    await api.admin.merge_patch(api.glovruns("stale"), {"metadata": {"labels": {"v": "2"}}})

    # A merge patch that names the version it was computed from: 409 Conflict.
    resp = await api.admin.request(
        "PATCH",
        api.glovruns("stale"),
        {"metadata": {"resourceVersion": stale, "labels": {"v": "old"}}},
        content_type="application/merge-patch+json",
    )
    assert resp.status == 409 and resp.body["reason"] == "Conflict", resp.body
    # A full update (PUT) from the old copy: the same.
    old = {**first, "metadata": {**first["metadata"], "labels": {"v": "old"}}}
    resp = await api.admin.request("PUT", api.glovruns("stale"), old)
    assert resp.status == 409
    assert (await api.glovrun("stale"))["metadata"]["labels"] == {"v": "2"}

    # Status writes are held to the same precondition.
    current = await api.glovrun("stale")
    await api.admin.merge_patch(api.glovruns("stale") + "/status", {"status": {"phase": "Running"}})
    resp = await api.admin.request(
        "PUT", api.glovruns("stale") + "/status", {**current, "status": {"phase": "Pending"}}
    )
    assert resp.status == 409
    assert (await api.glovrun("stale"))["status"] == {"phase": "Running"}


# The verbs the operator's Role does not grant, each as the request kopf would never make.
FORBIDDEN = [
    ("POST", "glovruns", None, "create"),
    ("PUT", "glovruns", "forbidden", "update"),
    ("DELETE", "glovruns", "forbidden", "delete"),
    ("DELETE", "glovruns", "", "deletecollection"),
    ("GET", "secrets", "", "list secrets"),
    ("GET", "configmaps", "", "list configmaps"),
    ("POST", "pods", None, "create pods"),
]


@on_both(kmock_misses="authorizes everyone for everything: there is no RBAC")
async def test_the_operator_role_forbids_what_the_operator_does_not_need(api):
    obj = await api.admin.create(run(api, "forbidden"))
    ns = api.namespace
    paths = {
        "glovruns": api.glovruns(),
        "secrets": f"/api/v1/namespaces/{ns}/secrets",
        "configmaps": f"/api/v1/namespaces/{ns}/configmaps",
        "pods": f"/api/v1/namespaces/{ns}/pods",
    }
    bodies = {"glovruns": run(api, "other"), "pods": {"apiVersion": "v1", "kind": "Pod"}}
    refused = {}
    for method, resource, name, what in FORBIDDEN:
        path = paths[resource] + (f"/{name}" if name else "")
        body = obj if method == "PUT" else bodies.get(resource) if method == "POST" else None
        resp = await api.operator.request(method, path, body)
        refused[what] = resp.status
    # Nor anything outside its namespace, not even reading GlovRuns.
    resp = await api.operator.request("GET", f"/apis/{GROUP_VERSION}/glovruns")
    refused["list glovruns in all namespaces"] = resp.status
    assert refused == dict.fromkeys(refused, 403)

    # What it needs is allowed: list and watch GlovRuns, patch them and their status, post Events.
    listed = await api.operator.request("GET", api.glovruns())
    watched = await api.operator.request("GET", api.glovruns() + "?watch=1&timeoutSeconds=1")
    assert (listed.status, watched.status) == (200, 200)
    patched = await api.operator.merge_patch(
        api.glovruns("forbidden"), {"metadata": {"finalizers": ["glov.dev/finalizer"]}}
    )
    assert patched["metadata"]["finalizers"] == ["glov.dev/finalizer"]
    await api.operator.merge_patch(
        api.glovruns("forbidden") + "/status", {"status": {"phase": "Pending"}}
    )
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "forbidden-", "namespace": ns},
        "involvedObject": {"kind": "GlovRun", "name": "forbidden", "namespace": ns},
        "reason": "Test",
        "message": "allowed",
        "type": "Normal",
    }
    assert (
        await api.operator.request("POST", f"/api/v1/namespaces/{ns}/events", event)
    ).status == 201
