"""Kustomize overlays build, validate against the schemas, wire monitoring."""

from __future__ import annotations

import copy
from collections import Counter

import kubernetes_validate
import pytest
from deploy_helpers import (
    K8S_VERSIONS,
    NAMESPACE,
    all_objects,
    find,
    validate_core,
)


def test_every_overlay_builds_with_the_expected_objects(rendered):
    for overlay, objs in rendered.items():
        kinds = Counter(o["kind"] for o in objs)
        for kind in (
            "Namespace",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "Secret",
            "Deployment",
            "Service",
            "PersistentVolumeClaim",
            "NetworkPolicy",
            "ServiceMonitor",
            "PrometheusRule",
        ):
            assert kinds[kind] >= 1, f"{overlay}: no {kind}"
        find(objs, "Deployment", "glov-pushgateway")
        find(objs, "ConfigMap", "glov-defaults")
        ids = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs]
        assert len(ids) == len(set(ids)), f"{overlay}: duplicate objects"
    assert [o for o in rendered["standalone"] if o["metadata"]["name"] == "glov-minio"]
    assert not [o for o in rendered["kubeflow"] if "minio" in o["metadata"]["name"]]


def test_core_objects_validate_against_kubernetes_schemas(rendered):
    for overlay, obj in all_objects(rendered):
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # CRDs: checked field by field below
        for version in K8S_VERSIONS:
            try:
                validate_core(obj, version)
            except kubernetes_validate.SchemaNotFoundError:
                pytest.fail(f"{overlay}: no schema for {obj['apiVersion']} {obj['kind']}")
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(
                    f"{overlay}: {obj['kind']}/{obj['metadata']['name']} "
                    f"invalid for Kubernetes {version}: {exc}"
                )


def test_strict_validation_catches_a_misspelt_field(rendered):
    deployment = copy.deepcopy(find(rendered["kubeflow"], "Deployment", "glov-pushgateway"))
    pod = deployment["spec"]["template"]["spec"]
    pod["containres"] = pod.pop("containers")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_core(deployment, K8S_VERSIONS[-1])


def test_prometheus_operator_objects_are_well_formed(rendered):
    for overlay, obj in all_objects(rendered):
        if not obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue
        assert obj["apiVersion"] == "monitoring.coreos.com/v1", obj["apiVersion"]
        assert obj["metadata"]["name"] and obj["metadata"].get("namespace") == NAMESPACE
        spec = obj["spec"]
        if obj["kind"] == "ServiceMonitor":
            assert spec["selector"].get("matchLabels") or spec["selector"].get("matchExpressions")
            assert spec["endpoints"] and all(
                "port" in e or "targetPort" in e for e in spec["endpoints"]
            )
        elif obj["kind"] == "PrometheusRule":
            assert spec["groups"]
            for group in spec["groups"]:
                assert group["name"] and group["rules"]
                for rule in group["rules"]:
                    assert ("alert" in rule) != ("record" in rule), rule
                    assert isinstance(rule["expr"], str) and rule["expr"].strip()
        else:
            pytest.fail(f"{overlay}: unchecked monitoring kind {obj['kind']}")


def test_service_monitor_selects_the_pushgateway(rendered):
    for overlay, objs in rendered.items():
        monitor = find(objs, "ServiceMonitor", "glov-pushgateway")
        wanted = monitor["spec"]["selector"]["matchLabels"]
        services = [
            o
            for o in objs
            if o["kind"] == "Service"
            and o["metadata"]["namespace"] == monitor["metadata"]["namespace"]
            and wanted.items() <= o["metadata"].get("labels", {}).items()
        ]
        assert [s["metadata"]["name"] for s in services] == ["glov-pushgateway"], overlay
        ports = {p.get("name") for p in services[0]["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports
