"""The GlovRun operator end to end: kopf handlers, emulated API server, KFP test server."""

from __future__ import annotations

import asyncio

import pytest
from glovrun_emulator import POLL, ApiServerEmulator, glovrun

from glov.runs.rundir import RunDir
from glov.store import open_store

pytestmark = [pytest.mark.asyncio, pytest.mark.kmock(cls=ApiServerEmulator)]


def condition(status: dict, type_: str) -> dict:
    return next((c for c in status.get("conditions", []) if c["type"] == type_), {})


def write_steps(store_uri: str, run_id: str, arm: str, fitnesses: list[float]) -> None:
    """What the pipeline's tasks append to the run directory, one record per step."""
    run = RunDir(open_store(store_uri).child(run_id), run_id)
    for step, fitness in enumerate(fitnesses):
        best = {"template": f"a photo of a {{}} (step {step} of {arm})", "fitness": fitness}
        run.append_step(arm, {"step": step, "scored": [best], "best": best})


async def test_a_run_that_succeeds(cluster, kfp, operator, store_uri):
    async with operator() as reconciler:
        await cluster.apply(glovrun("ok", kfp.url, store_uri))
        status = await cluster.wait("the run id", lambda: cluster.status("ok").get("kubeflowRunId"))
        status = cluster.status("ok")
        assert status["phase"] == "Running"
        assert condition(status, "Accepted")["status"] == "True"
        submitted = condition(status, "Submitted")
        assert (submitted["status"], submitted["reason"]) == ("True", "RunCreated")
        assert submitted["observedGeneration"] == 1 and status["observedGeneration"] == 1

        (run,) = kfp.runs()
        assert run["run_id"] == status["kubeflowRunId"]
        # Deterministic: the run name is the run directory's, and both reach the pipeline.
        assert run["display_name"] == status["runId"] == status["kubeflowRunName"]
        params = run["request"]["runtime_config"]["parameters"]
        assert params["run_id"] == status["runId"] and params["store_uri"] == store_uri

        write_steps(store_uri, status["runId"], "glov-alpha1", [0.5, 0.62])
        write_steps(store_uri, status["runId"], "llm-opt", [0.5])
        kfp.set_state(run["run_id"], "RUNNING")
        # "0/2" alone also describes a run with no steps yet: wait for the arms too.
        await cluster.wait(
            "progress",
            lambda: cluster.status("ok").get("steps") == {"glov-alpha1": 1, "llm-opt": 0},
        )
        status = cluster.status("ok")
        assert status["steps"] == {"glov-alpha1": 1, "llm-opt": 0}
        assert status["bestFitness"] == 0.62 and status["bestArm"] == "glov-alpha1"
        assert status["bestTemplate"] == "a photo of a {} (step 1 of glov-alpha1)"
        assert status["kubeflowState"] == "RUNNING"
        ready = condition(status, "Ready")
        assert (ready["status"], ready["reason"]) == ("True", "RunInProgress")
        assert status["startTime"] and "completionTime" not in status

        run_dir = RunDir(open_store(store_uri).child(status["runId"]), status["runId"])
        run_dir.write_json(
            "report.json",
            {"arms": {"glov-alpha1": {"best_fitness": 0.7, "best_template": "an image of {}"}}},
        )
        kfp.set_state(run["run_id"], "SUCCEEDED")
        await cluster.wait("success", lambda: cluster.status("ok").get("phase") == "Succeeded")
        status = cluster.status("ok")
        assert condition(status, "Succeeded")["reason"] == "RunSucceeded"
        assert condition(status, "Ready")["reason"] == "RunSucceeded"
        assert status["completionTime"] >= status["startTime"]
        # Finished: the poll timer stops, Kubeflow hears nothing more about it.
        calls = kfp.calls()
        await asyncio.sleep(5 * POLL)
        assert kfp.calls() == calls
        assert status["bestFitness"] == 0.7 and status["bestTemplate"] == "an image of {}"
        assert status["reportUri"].endswith(f"{status['runId']}/report.md")
        await cluster.wait(
            "events", lambda: ("Normal", "RunSucceeded") in cluster.events("ok"), timeout=5
        )
        assert ("Normal", "RunCreated") in cluster.events("ok")
        sample = reconciler.metrics.submissions.labels("created")._value.get()
        assert sample == 1

    # The operator wrote status, its finalizer and annotations: never the spec.
    for body in cluster.writes():
        if isinstance(body, dict):
            assert "spec" not in body, body
        else:
            assert not [op for op in body if op["path"].startswith("/spec")], body
    assert cluster.get("ok")["metadata"]["finalizers"] == ["glov.dev/finalizer"]


async def test_a_failed_run_is_reported_and_resumed_in_the_same_run_directory(
    cluster, kfp, operator, store_uri
):
    async with operator():
        await cluster.apply(glovrun("flaky", kfp.url, store_uri))
        await cluster.wait("the run id", lambda: cluster.status("flaky").get("kubeflowRunId"))
        first = cluster.status("flaky")
        kfp.set_state(first["kubeflowRunId"], "FAILED", error="pod OOMKilled")
        await cluster.wait("failure", lambda: cluster.status("flaky").get("phase") == "Failed")
        failed = condition(cluster.status("flaky"), "Succeeded")
        assert (failed["status"], failed["reason"]) == ("False", "RunFailed")
        assert "pod OOMKilled" in failed["message"] and "glov.dev/resume" in failed["message"]

        await cluster.patch("flaky", {"metadata": {"annotations": {"glov.dev/resume": "1"}}})
        await cluster.wait("resume", lambda: cluster.status("flaky").get("attempt") == 1)
        resumed = cluster.status("flaky")
        assert resumed["phase"] == "Running"
        assert resumed["kubeflowRunName"] == f"{first['runId']}-resume-1"
        assert resumed["kubeflowRunId"] != first["kubeflowRunId"]
        assert condition(resumed, "Succeeded")["status"] == "Unknown"
        runs = kfp.runs()
        assert len(runs) == 2
        # Same run directory: the pipeline reuses the finished steps.
        assert {r["request"]["runtime_config"]["parameters"]["run_id"] for r in runs} == {
            first["runId"]
        }
        kfp.set_state(resumed["kubeflowRunId"], "SUCCEEDED")
        await cluster.wait("success", lambda: cluster.status("flaky").get("phase") == "Succeeded")
        assert len(kfp.runs()) == 2


async def test_deleting_a_running_glovrun_terminates_its_kubeflow_run(
    cluster, kfp, operator, store_uri
):
    async with operator():
        await cluster.apply(glovrun("doomed", kfp.url, store_uri))
        run_id = await cluster.wait(
            "the run id", lambda: cluster.status("doomed").get("kubeflowRunId")
        )
        kfp.set_state(run_id, "RUNNING")
        await cluster.delete("doomed")
        await cluster.wait("the object to go", lambda: cluster.get("doomed") is None)
        (run,) = kfp.runs()
        assert run["state"] == "CANCELED"


async def test_a_kubeflow_run_deleted_behind_the_controller_ends_canceled_and_resumes(
    cluster, kfp, operator, store_uri
):
    async with operator():
        await cluster.apply(glovrun("orphan", kfp.url, store_uri))
        run_id = await cluster.wait(
            "the run id", lambda: cluster.status("orphan").get("kubeflowRunId")
        )
        kfp.set_state(run_id, "RUNNING")
        await cluster.wait("running", lambda: cluster.status("orphan").get("phase") == "Running")
        kfp.delete_run(run_id)
        await cluster.wait("canceled", lambda: cluster.status("orphan").get("phase") == "Canceled")
        status = cluster.status("orphan")
        gone = condition(status, "Succeeded")
        assert (gone["status"], gone["reason"]) == ("False", "RunDeleted")
        assert run_id in gone["message"] and "glov.dev/resume" in gone["message"]
        assert condition(status, "KubeflowReachable")["status"] == "True"

        await cluster.patch("orphan", {"metadata": {"annotations": {"glov.dev/resume": "1"}}})
        await cluster.wait("resume", lambda: cluster.status("orphan").get("attempt") == 1)
        assert cluster.status("orphan")["phase"] == "Running"
        assert [r["run_id"] for r in kfp.runs()] == [cluster.status("orphan")["kubeflowRunId"]]


async def test_a_restarted_controller_submits_no_second_run(cluster, kfp, operator, store_uri):
    async with operator():
        await cluster.apply(glovrun("steady", kfp.url, store_uri))
        await cluster.wait("the run id", lambda: cluster.status("steady").get("kubeflowRunId"))
    # A controller that created the run and died before writing its id: the
    # run exists in Kubeflow under the deterministic name, the status has no id.
    body = glovrun("orphan", kfp.url, store_uri)
    body["metadata"]["uid"] = "0123abcd-0000-4000-8000-000000000000"
    orphan_id = kfp.create_run("orphan-0123abcd")
    await cluster.apply(body)

    async with operator() as reconciler:
        await cluster.wait("adoption", lambda: cluster.status("orphan").get("kubeflowRunId"))
        status = cluster.status("orphan")
        assert status["kubeflowRunId"] == orphan_id
        assert condition(status, "Submitted")["reason"] == "RunAdopted"
        await asyncio.sleep(5 * POLL)  # several polls of both objects
        names = sorted(r["display_name"] for r in kfp.runs())
        assert names == ["orphan-0123abcd", cluster.status("steady")["runId"]]
        assert reconciler.metrics.submissions.labels("created")._value.get() == 0


@pytest.mark.parametrize(
    ("spec", "field", "reason_text"),
    [
        ({"overrides": ["search.candidates=-1"]}, "spec.overrides[0]", "search.candidates"),
        ({"parameters": {"shotz": 2}}, "spec.parameters.shotz", "not a run parameter"),
        ({"profile": "/etc/passwd"}, "spec.profile", "no profile"),
    ],
)
async def test_a_bad_spec_gets_a_condition_naming_the_field(
    cluster, kfp, operator, store_uri, spec, field, reason_text
):
    async with operator():
        await cluster.apply(glovrun("bad", kfp.url, store_uri, **spec))
        await cluster.wait("rejection", lambda: cluster.status("bad").get("phase") == "Invalid")
        accepted = condition(cluster.status("bad"), "Accepted")
        assert (accepted["status"], accepted["reason"]) == ("False", "InvalidSpec")
        assert accepted["message"].startswith(field) and reason_text in accepted["message"]
        assert kfp.runs() == []
        # Fixed before anything ran: the new generation is checked and submitted.
        fixed = glovrun("bad", kfp.url, store_uri)["spec"]
        fixed.setdefault("parameters", None)
        await cluster.patch("bad", {"spec": {**{k: None for k in spec}, **fixed}})
        await cluster.wait("submission", lambda: cluster.status("bad").get("kubeflowRunId"))
        assert cluster.status("bad")["observedGeneration"] == 2


async def test_kubeflow_errors_and_spec_edits_become_conditions(cluster, kfp, operator, store_uri):
    kfp.outage(503)
    async with operator():
        await cluster.apply(glovrun("later", kfp.url, store_uri))
        await cluster.wait(
            "the outage condition",
            lambda: condition(cluster.status("later"), "Submitted").get("reason"),
        )
        status = cluster.status("later")
        assert status["phase"] == "Pending"
        assert condition(status, "Submitted")["reason"] == "KubeflowUnavailable"
        kfp.outage(0)
        await cluster.wait("submission", lambda: cluster.status("later").get("kubeflowRunId"))

        # An edit after submission is refused: the run keeps the spec it started from.
        await cluster.patch("later", {"spec": {"overrides": ["search.steps=3"]}})
        await cluster.wait(
            "the refusal", lambda: condition(cluster.status("later"), "SpecApplied").get("reason")
        )
        status = cluster.status("later")
        refused = condition(status, "SpecApplied")
        assert (refused["status"], refused["reason"]) == ("False", "SpecChangeRefused")
        assert status["observedGeneration"] == 2 and status["submittedGeneration"] == 1
        assert len(kfp.runs()) == 1 and status["totalSteps"] == 2


async def test_operator_calls_are_what_its_role_grants(cluster, kfp, operator, store_uri):
    """Every request kopf sends over a GlovRun's life (create, poll, resume, delete)
    is granted by the operator's Role, and the Role grants nothing never used."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
    from deploy_helpers import MANIFESTS, find, kustomize, role_grants

    async with operator():
        await cluster.apply(glovrun("life", kfp.url, store_uri))
        run_id = await cluster.wait(
            "the run id", lambda: cluster.status("life").get("kubeflowRunId")
        )
        kfp.set_state(run_id, "FAILED", error="x")
        await cluster.wait("failure", lambda: cluster.status("life").get("phase") == "Failed")
        await cluster.patch("life", {"metadata": {"annotations": {"glov.dev/resume": "1"}}})
        await cluster.wait("resume", lambda: cluster.status("life").get("attempt") == 1)
        await cluster.delete("life")
        await cluster.wait("the object to go", lambda: cluster.get("life") is None)
    role = find(kustomize(MANIFESTS / "base" / "operator"), "Role", "glov-operator")
    assert cluster.api.operator_calls == role_grants(role)
