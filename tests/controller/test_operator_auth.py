"""The operator against a multi-user Kubeflow Pipelines (tests/servers/kfp.py in
multi-user mode): refusals become conditions with reasons and fixes, are not
retried like an outage, and a projected-token file starts the run."""

from __future__ import annotations

import asyncio

import pytest
from glovrun_emulator import POLL, ApiServerEmulator, glovrun

from pipelines.kfp_auth import SA_TOKEN_PATH_ENV, resolve_auth

pytestmark = [pytest.mark.asyncio, pytest.mark.kmock(cls=ApiServerEmulator)]

OPERATOR = "system:serviceaccount:glov:glov-operator"


def condition(status: dict, type_: str) -> dict:
    return next((c for c in status.get("conditions", []) if c["type"] == type_), {})


def token_file(tmp_path, token: str):
    path = tmp_path / "kfp-token"
    path.write_text(token + "\n")
    # As the operator resolves it in its pod: $KF_PIPELINES_SA_TOKEN_PATH.
    return path, resolve_auth(env={SA_TOKEN_PATH_ENV: str(path)})


def in_team_a(kfp, store_uri, name: str) -> dict:
    body = glovrun(name, kfp.url, store_uri)
    body["spec"]["kubeflow"]["namespace"] = "team-a"
    return body


async def test_no_token_is_401_kubeflow_unauthorized_then_no_more_calls(
    cluster, kfp, operator, store_uri
):
    kfp.multi_user({"t": {"identity": OPERATOR, "namespaces": ["team-a"]}})
    async with operator():
        await cluster.apply(in_team_a(kfp, store_uri, "anon"))
        await cluster.wait("giving up", lambda: cluster.status("anon").get("gaveUp"))
        status = cluster.status("anon")
        submitted = condition(status, "Submitted")
        assert (submitted["status"], submitted["reason"]) == ("False", "KubeflowUnauthorized")
        message = submitted["message"]
        assert "HTTP 401" in message and "pipelines.kubeflow.org" in message
        assert SA_TOKEN_PATH_ENV in message and "Gave up after 3 attempts" in message
        ready = condition(status, "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "KubeflowUnauthorized")
        assert status["phase"] == "Pending" and status["failedAttempts"] == 3
        # Backoff, then silence: no calls after the third refusal, one Warning in all.
        refused = kfp.refusals()
        assert {status for status, _, _ in refused} == {401}
        await asyncio.sleep(8 * POLL)
        assert kfp.refusals() == refused
        assert cluster.events("anon").count(("Warning", "KubeflowUnauthorized")) == 1
        assert kfp.runs() == []


async def test_403_names_the_rolebinding_and_a_resume_after_the_grant_submits(
    cluster, kfp, operator, store_uri, tmp_path
):
    kfp.multi_user({"t1": {"identity": OPERATOR, "namespaces": ["team-b"]}})
    path, auth = token_file(tmp_path, "t1")
    async with operator(auth=auth):
        await cluster.apply(in_team_a(kfp, store_uri, "denied"))
        await cluster.wait(
            "the refusal",
            lambda: condition(cluster.status("denied"), "Submitted").get("reason"),
        )
        submitted = condition(cluster.status("denied"), "Submitted")
        assert submitted["reason"] == "KubeflowForbidden"
        assert "namespace team-a" in submitted["message"]
        assert "kubeflow-pipelines-edit" in submitted["message"]
        assert f"token file {path}" in submitted["message"]
        await cluster.wait("giving up", lambda: cluster.status("denied").get("gaveUp"))

        # The admin adds the RoleBinding; the user asks for another try.
        kfp.multi_user({"t1": {"identity": OPERATOR, "namespaces": ["team-a", "team-b"]}})
        await cluster.patch("denied", {"metadata": {"annotations": {"glov.dev/resume": "1"}}})
        run_id = await cluster.wait(
            "submission", lambda: cluster.status("denied").get("kubeflowRunId")
        )
        status = cluster.status("denied")
        assert condition(status, "Submitted")["reason"] == "RunCreated"
        assert condition(status, "Ready")["status"] == "True"
        assert not {"failedAttempts", "gaveUp", "nextAttemptTime"} & status.keys()
        assert status["startTime"] and "completionTime" not in status
        assert status["attempt"] == 0  # a retry of the first submission, not a resume
        (run,) = kfp.runs()
        assert (run["run_id"], run["namespace"]) == (run_id, "team-a")

        # The kubelet rotates the projected token: the file is read on every call.
        kfp.multi_user({"t2": {"identity": OPERATOR, "namespaces": ["team-a"]}})
        path.write_text("t2\n")
        kfp.set_state(run_id, "SUCCEEDED")
        await cluster.wait("success", lambda: cluster.status("denied").get("phase") == "Succeeded")
        status = cluster.status("denied")
        assert status["completionTime"] >= status["startTime"]
        assert condition(status, "Ready")["reason"] == "RunSucceeded"


async def test_multi_user_without_a_namespace_is_namespace_required(
    cluster, kfp, operator, store_uri, tmp_path
):
    kfp.multi_user({"t1": {"identity": OPERATOR, "namespaces": ["team-a"]}})
    _, auth = token_file(tmp_path, "t1")
    async with operator(auth=auth):
        await cluster.apply(glovrun("nowhere", kfp.url, store_uri))
        await cluster.wait("giving up", lambda: cluster.status("nowhere").get("gaveUp"))
        submitted = condition(cluster.status("nowhere"), "Submitted")
        assert submitted["reason"] == "NamespaceRequired"
        assert "spec.kubeflow.namespace" in submitted["message"]
        assert kfp.refusals() == []  # found out from healthz, before any API call
