"""Kueue, built from the Go module proxy, queueing the pods of a compiled GPU step.

Kueue's own CRDs and webhooks are installed on the real API server and its
controller runs against it; manifests/overlays/kueue (GPU and CPU flavors, a
ClusterQueue with a GPU quota, the LocalQueue glov-gpu) is applied as a
cluster admin would. The pods are made from a paper-clip pipeline compiled
with pipeline.kueue.queue_name=glov-gpu: its GPU executor's labels, node
selector, tolerations and resources, as Kubeflow's driver would create them.
No kubelet or scheduler runs, so admission is all that happens to a pod:
Kueue removes its scheduling gate and adds its flavor's node selector, up to
the ClusterQueue's GPU quota.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_backends import MANIFESTS
from deploy_helpers import kustomize

from glov.config import load_config
from pipelines.compile import compile_pipeline
from pipelines.plan import plan_pipeline
from tests.servers.kube_apiserver import KubeApiServer, KubeClient
from tests.servers.kueue import KueueController, running_kueue

NAMESPACE = "glov"  # the ClusterQueue's namespaceSelector and the LocalQueue's namespace
QUEUE = "glov-gpu"
GATE = "kueue.x-k8s.io/admission"
GPU = "nvidia.com/gpu"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
KUEUE = "kueue.x-k8s.io/v1beta2"
GPU_QUOTA = 4  # manifests/overlays/kueue/cluster-queue.yaml, flavor glov-gpu-nodes
GPU_FLAVOR = "glov-gpu-nodes"


@pytest.fixture(scope="module")
def kueue(
    kube: KubeApiServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KueueController]:
    with running_kueue(kube, tmp_path_factory.mktemp("kueue")) as controller:
        yield controller


@pytest.fixture(scope="module")
def queues(kube: KubeApiServer, kueue: KueueController) -> list[dict[str, Any]]:
    """The overlay's objects as the API server stored them (after Kueue's webhooks)."""
    admin = kube.admin()
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    for obj in (namespace, _service_account("default")):
        resp = admin.request("POST", admin.path_of(obj, named=False), obj)
        assert resp.status in (201, 409), resp.body
    return [admin.create(obj) for obj in kustomize(MANIFESTS / "overlays" / "kueue")]


def test_the_kueue_overlay_is_accepted_and_its_queues_become_active(kube, queues):
    # Every object was created (admin.create raises otherwise); its kinds are
    # tests/deploy/test_manifests_kueue.py's to check.
    admin = kube.admin()
    # Kueue's CRD validation is real: a flavor that leaves a covered resource out is refused.
    (stored,) = [o for o in queues if o["kind"] == "ClusterQueue"]
    broken = {
        "apiVersion": stored["apiVersion"],
        "kind": stored["kind"],
        "metadata": {"name": "broken"},
        "spec": copy.deepcopy(stored["spec"]),
    }
    del broken["spec"]["resourceGroups"][0]["flavors"][1]["resources"][2]
    resp = admin.request("POST", admin.path_of(broken, named=False), broken)
    assert resp.status == 422, resp.body

    # Wait for Active=True, not for the condition to appear: Kueue first writes
    # Active=False on a LocalQueue whose ClusterQueue it has not activated yet
    # (a race seen once in a full test run).
    for obj in queues:
        if obj["kind"] in ("ClusterQueue", "LocalQueue"):
            path = admin.path_of(obj)
            seen: list[dict[str, Any] | None] = [None]

            def active(p: str = path, seen: list = seen) -> bool:
                seen[0] = _condition(admin.get(p), "Active")
                return bool(seen[0]) and seen[0]["status"] == "True"

            _wait(f"{obj['kind']} {obj['metadata']['name']} Active=True", active)
            assert seen[0] is not None and seen[0]["status"] == "True", seen[0]


def test_kueue_admits_gpu_step_pods_up_to_the_gpu_quota_and_the_next_when_one_finishes(
    kube, queues, tmp_path
):
    admin = kube.admin()
    template = gpu_step_pod(tmp_path)
    labels = template["metadata"]["labels"]
    assert labels[QUEUE_LABEL] == QUEUE, labels
    pods = f"/api/v1/namespaces/{NAMESPACE}/pods"
    for i in range(GPU_QUOTA + 1):
        pod = yaml.safe_load(yaml.safe_dump(template))
        pod["metadata"]["name"] = f"gpu-step-{i}"
        created = admin.create(pod)
        # Kueue's webhook holds every queued pod at creation.
        assert GATE in _gates(created), created["spec"].get("schedulingGates")

    def split() -> tuple[list[dict], list[dict]]:
        items = admin.get(pods + "?labelSelector=app.kubernetes.io/part-of%3Dglov")["items"]
        admitted = [p for p in items if GATE not in _gates(p)]
        return admitted, [p for p in items if GATE in _gates(p)]

    admitted, waiting = _wait(
        "the quota's worth of admissions",
        lambda: (lambda a, w: (a, w) if len(a) == GPU_QUOTA else None)(*split()),
    )
    time.sleep(2)  # admissions beyond the quota would have happened by now
    admitted, waiting = split()
    assert len(admitted) == GPU_QUOTA and len(waiting) == 1
    for pod in admitted:
        # Admitted on the GPU flavor (the CPU one has no GPU quota), whose node
        # labels and toleration the pod now carries.
        (workload,) = _workloads(admin, pod["metadata"]["name"])
        (assignment,) = workload["status"]["admission"]["podSetAssignments"]
        assert assignment["flavors"][GPU] == GPU_FLAVOR, assignment
        assert pod["spec"]["nodeSelector"]["nvidia.com/gpu.present"] == "true"
        assert any(t["key"] == GPU for t in pod["spec"]["tolerations"])
    # Kueue writes the refusal and the ClusterQueue's usage after the admissions.
    waiter = waiting[0]["metadata"]["name"]
    reserved = _wait(
        "the waiting pod's QuotaReserved condition",
        lambda: next((_condition(w, "QuotaReserved") for w in _workloads(admin, waiter)), None),
    )
    assert reserved["status"] == "False" and GPU in reserved["message"], reserved
    cq = admin.path(KUEUE, "ClusterQueue", name="glov")
    _wait("the ClusterQueue's GPU reservation", lambda: _reserved(admin.get(cq)) == GPU_QUOTA)

    # One admitted pod finishes (reported as a kubelet would): its quota goes to the
    # one that waited.
    admin.merge_patch(
        f"{pods}/{admitted[0]['metadata']['name']}/status", {"status": {"phase": "Succeeded"}}
    )
    name = waiting[0]["metadata"]["name"]
    _wait("the waiting pod admitted", lambda: GATE not in _gates(admin.get(f"{pods}/{name}")))


def gpu_step_pod(tmp_path: Path) -> dict[str, Any]:
    """A pod of paper-clip's first GPU executor, compiled with Kueue's queue label."""
    cfg = load_config("paper-clip", [f"pipeline.kueue.queue_name={QUEUE}"])
    path = compile_pipeline(plan_pipeline(cfg), tmp_path / "pipeline.yaml")
    spec, platform = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    executors = spec["deploymentSpec"]["executors"]
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    label, container = next(
        (label, e["container"])
        for label, e in executors.items()
        if "accelerator" in e.get("container", {}).get("resources", {})
    )
    resources = container["resources"]
    accelerator = resources["accelerator"]
    platform_spec = k8s[label]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "namespace": NAMESPACE,
            "labels": platform_spec.get("podMetadata", {}).get("labels", {}),
        },
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": container["image"],
                    "resources": {
                        "requests": {
                            "cpu": resources["resourceCpuRequest"],
                            "memory": resources["resourceMemoryRequest"],
                        },
                        "limits": {accelerator["resourceType"]: accelerator["resourceCount"]},
                    },
                }
            ],
            "nodeSelector": platform_spec.get("nodeSelector", {}).get("labels", {}),
            "tolerations": platform_spec.get("tolerations", []),
            "restartPolicy": "Never",
        },
    }


def _service_account(name: str) -> dict[str, Any]:
    # No controller-manager runs to make the namespace's default ServiceAccount,
    # and pod admission requires it.
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": NAMESPACE},
    }


def _gates(pod: dict[str, Any]) -> set[str]:
    return {g["name"] for g in pod["spec"].get("schedulingGates", [])}


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    conditions = (obj.get("status") or {}).get("conditions", [])
    return next((c for c in conditions if c["type"] == type_), None)


def _reserved(cluster_queue: dict[str, Any]) -> int | None:
    """GPUs reserved on the GPU flavor, as the ClusterQueue's status reports them."""
    flavors = (cluster_queue.get("status") or {}).get("flavorsReservation", [])
    totals = [
        r["total"]
        for f in flavors
        if f["name"] == GPU_FLAVOR
        for r in f["resources"]
        if r["name"] == GPU
    ]
    return int(totals[0]) if totals else None


def _workloads(admin: KubeClient, pod_name: str) -> list[dict[str, Any]]:
    path = admin.path(KUEUE, "Workload", NAMESPACE)
    items = admin.get(path)["items"]
    return [
        w
        for w in items
        if any(o["name"] == pod_name for o in w["metadata"].get("ownerReferences", []))
    ]


def _wait(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
