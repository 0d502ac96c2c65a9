"""manifests/overlays/kueue: built with kubectl kustomize, validated against Kueue's CRDs.

kueue/crd-schemas.json holds the openAPIV3Schema of Kueue's ResourceFlavor,
ClusterQueue, LocalQueue and WorkloadPriorityClass (storage version v1beta2, of
the release named in its `source`, descriptions removed); crd_validation.py
applies them as the API server would on create, CEL rules included.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from crd_validation import crd_problems
from deploy_helpers import MANIFESTS, find, kustomize

from glov.config import load_config

KUEUE = json.loads((Path(__file__).parent / "kueue" / "crd-schemas.json").read_text())["kinds"]
OVERLAY = MANIFESTS / "overlays" / "kueue"


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return kustomize(OVERLAY)


def problems(obj: dict) -> list[str]:
    kind = KUEUE[obj["kind"]]
    assert obj["apiVersion"] == kind["apiVersion"], obj["kind"]
    return crd_problems(obj, kind["schema"])


def test_the_overlay_validates_against_kueues_crds(objects):
    assert sorted(o["kind"] for o in objects) == [
        "ClusterQueue",
        "LocalQueue",
        "ResourceFlavor",
        "ResourceFlavor",
        "WorkloadPriorityClass",
        "WorkloadPriorityClass",
    ]
    for obj in objects:
        assert problems(obj) == [], obj["metadata"]["name"]
        namespaced = KUEUE[obj["kind"]]["scope"] == "Namespaced"
        assert ("namespace" in obj["metadata"]) == namespaced, obj["metadata"]["name"]


def test_the_validation_refuses_what_kueue_refuses(objects):
    """The checks bite: a schema error, an undeclared field and a CEL rule each fail."""
    queue = find(objects, "ClusterQueue", "glov")
    bad_enum = copy.deepcopy(queue)
    bad_enum["spec"]["queueingStrategy"] = "Fastest"
    assert any("queueingStrategy" in p for p in problems(bad_enum))
    typo = copy.deepcopy(queue)
    typo["spec"]["resourceGroups"][0]["flavours"] = []
    assert any("flavours" in p for p in problems(typo))
    # CEL: every flavor of a group lists every covered resource.
    short = copy.deepcopy(queue)
    short["spec"]["resourceGroups"][0]["flavors"][0]["resources"].pop()
    assert any("resourceGroups[0]" in p for p in problems(short)), problems(short)


def test_queues_and_flavors_fit_glov_pods(objects):
    local = find(objects, "LocalQueue", "glov-gpu")
    assert local["metadata"]["namespace"] == "glov"
    cluster = find(objects, "ClusterQueue", local["spec"]["clusterQueue"])
    selector = cluster["spec"]["namespaceSelector"]["matchLabels"]
    assert selector == {"kubernetes.io/metadata.name": "glov"}
    (group,) = cluster["spec"]["resourceGroups"]
    pipeline = load_config("paper-clip").pipeline
    # Every resource a GPU task requests is covered, or Kueue never admits it.
    assert {"cpu", "memory", pipeline.accelerator_type} <= set(group["coveredResources"])
    flavors = {
        f["name"]: {r["name"]: r["nominalQuota"] for r in f["resources"]} for f in group["flavors"]
    }
    cpu_flavor, gpu_flavor = (f["name"] for f in group["flavors"])
    # CPU-only pods fit the first flavor, whose GPU quota is 0: never on GPU nodes.
    assert flavors[cpu_flavor][pipeline.accelerator_type] == 0
    assert flavors[gpu_flavor][pipeline.accelerator_type] >= 1
    gpu = find(objects, "ResourceFlavor", gpu_flavor)["spec"]
    # Kueue adds these to admitted pods: they must agree with the compiled placement.
    assert gpu["nodeLabels"] == pipeline.node_selector
    assert gpu["tolerations"] == [t.model_dump(exclude_none=True) for t in pipeline.tolerations]
    assert "spec" not in find(objects, "ResourceFlavor", cpu_flavor)
    values = {
        o["metadata"]["name"]: o["value"] for o in objects if o["kind"] == "WorkloadPriorityClass"
    }
    assert values["glov-interactive"] > values["glov-batch"]
