"""Shared helpers for the deployment tests: render overlays, walk pod specs.

A uniquely named module rather than conftest.py: test directories here have no
__init__.py, so a second `conftest` import name would collide.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
IMAGES = ROOT / "images"
OVERLAYS = ("kubeflow", "standalone")
NAMESPACE = "glov"
POD_OWNERS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def kubectl() -> str:
    path = shutil.which("kubectl")
    assert path, "kubectl (with its built-in kustomize) is required for the deploy tests"
    return path


def kustomize(directory: Path, *extra: str) -> list[dict]:
    """`kubectl kustomize DIR` as parsed objects; a failed build fails the test."""
    proc = subprocess.run(
        [kubectl(), "kustomize", str(directory), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"kustomize build of {directory} failed:\n{proc.stderr}"
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def pod_templates(objs: list[dict]) -> Iterator[tuple[str, dict]]:
    """(label, pod spec) of every workload; the label names kind/name for messages."""
    for obj in objs:
        kind = obj["kind"]
        if kind == "Pod":
            yield f"Pod/{obj['metadata']['name']}", obj["spec"]
        elif kind in POD_OWNERS:
            yield f"{kind}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]
        elif kind == "CronJob":
            spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            yield f"CronJob/{obj['metadata']['name']}", spec


def containers(pod: dict) -> list[dict]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def role_grants(role: dict) -> set[tuple[str, str, str]]:
    """(API group, resource, verb) of every permission a Role grants."""
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def find(objs: list[dict], kind: str, name: str) -> dict:
    hits = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(hits) == 1, f"expected exactly one {kind}/{name}, found {len(hits)}"
    return hits[0]


# Oldest Kubernetes still common under Kubeflow, and the newest schemas shipped.
K8S_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
CLUSTER_SCOPED = {
    "Namespace",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "CustomResourceDefinition",
}
PLACEHOLDER = re.compile(r"(REPLACE_ME|CHANGE_ME)")


def all_objects(rendered):
    return [(overlay, obj) for overlay, objs in rendered.items() for obj in objs]


def defaults(objs: list[dict]) -> dict[str, str]:
    return find(objs, "ConfigMap", "glov-defaults")["data"]


# --- build and schema -------------------------------------------------------


def validate_core(obj: dict, version: str) -> None:
    kubernetes_validate.validate(obj, version, strict=True)
