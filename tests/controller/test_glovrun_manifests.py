"""The GlovRun CRD, the example, the operator's RBAC and Argo CD health check,
and `glov compile --kubernetes-manifest` (Kubeflow's Pipeline resources)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from deploy_helpers import K8S_VERSIONS, MANIFESTS, find, kustomize  # noqa: E402

from controller.main import parse_args  # noqa: E402
from controller.spec import parse_spec  # noqa: E402

EXAMPLE = MANIFESTS / "examples" / "glovrun.yaml"


@pytest.fixture(scope="module")
def operator_objects() -> list[dict]:
    return kustomize(MANIFESTS / "base" / "operator")


def crd_schema(objs: list[dict]) -> dict:
    crd = find(objs, "CustomResourceDefinition", "glovruns.glov.dev")
    (version,) = crd["spec"]["versions"]
    return version


def test_crd_and_operator_validate_against_kubernetes_schemas(operator_objects):
    kinds = {o["kind"] for o in operator_objects}
    assert kinds == {
        "CustomResourceDefinition",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
    }
    for obj in operator_objects:
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


def test_example_glovrun_fits_the_crd_and_the_controller(operator_objects):
    version = crd_schema(operator_objects)
    example = yaml.safe_load(EXAMPLE.read_text())
    assert example["apiVersion"] == f"glov.dev/{version['name']}"
    jsonschema.validate(example, version["schema"]["openAPIV3Schema"])
    run = parse_spec(example["spec"], name=example["metadata"]["name"], uid="abcdef12-0000")
    assert run.run_id == "smoke-example-abcdef12" and run.cfg.search.steps == 4
    # A misspelt field is caught by the schema before the controller sees it.
    bad = {**example, "spec": {**example["spec"], "kubeflow": {"endpiont": "http://x"}}}
    with pytest.raises(jsonschema.ValidationError, match="endpoint"):
        jsonschema.validate(bad, version["schema"]["openAPIV3Schema"])


def test_printer_columns_point_at_status_fields(operator_objects):
    version = crd_schema(operator_objects)
    assert "status" in version["subresources"]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert list(columns) == ["Phase", "Step", "Best", "Age"]
    for path in columns.values():
        if path.startswith(".status."):
            assert path.removeprefix(".status.") in status, path
    condition = status["conditions"]["items"]["properties"]
    assert {"type", "status", "reason", "message", "lastTransitionTime", "observedGeneration"} <= (
        condition.keys()
    )


def test_operator_rbac_is_its_own_resources_and_events_only(operator_objects):
    role = find(operator_objects, "Role", "glov-operator")
    granted = set()
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
        assert not set(rule["verbs"]) & {"delete", "deletecollection", "create"} or rule[
            "resources"
        ] == ["events"], rule
        granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == {
        ("glov.dev", "glovruns"),
        ("glov.dev", "glovruns/status"),
        ("glov.dev", "glovruns/finalizers"),
        ("", "events"),
        ("events.k8s.io", "events"),
    }
    binding = find(operator_objects, "RoleBinding", "glov-operator")
    assert binding["subjects"][0]["name"] == "glov-operator"


def test_operator_deployment_runs_the_controller_it_ships(operator_objects):
    deployment = find(operator_objects, "Deployment", "glov-operator")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "controller"]
    assert re.fullmatch(r"ghcr\.io/glov-kfp/glov-cpu:[0-9.]+", container["image"])
    args = parse_args(container["args"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": args.metrics_port, "healthz": args.liveness_port}
    assert pod["serviceAccountName"] == "glov-operator" and deployment["spec"]["replicas"] == 1


def test_argocd_health_check_covers_every_phase(operator_objects):
    lua = (MANIFESTS / "argocd" / "glovrun-health.lua").read_text()
    status = crd_schema(operator_objects)["schema"]["openAPIV3Schema"]["properties"]["status"]
    for phase in status["properties"]["phase"]["enum"]:
        assert f'"{phase}"' in lua or f"-- {phase}" in lua, phase
    readme = (MANIFESTS / "README.md").read_text()
    assert "argocd/glovrun-health.lua" in readme and "glov.dev_GlovRun" in readme


def test_compile_emits_kubeflow_pipeline_resources(tmp_path):
    from cli.main import main

    out = tmp_path / "pipeline.yaml"
    argv = ["compile", "--config", "smoke", "-o", str(out), "--kubernetes-manifest"]
    assert main([*argv, "--namespace", "glov"]) == 0
    pipeline, version = yaml.safe_load_all(out.read_text())
    assert (pipeline["kind"], version["kind"]) == ("Pipeline", "PipelineVersion")
    assert pipeline["apiVersion"] == version["apiVersion"] == "pipelines.kubeflow.org/v2beta1"
    assert version["spec"]["pipelineName"] == pipeline["metadata"]["name"] == "glov-smoke"
    assert version["metadata"]["namespace"] == "glov"
    assert re.fullmatch(r"glov-smoke-[0-9a-f]{10}", version["metadata"]["name"])
    assert "root" in version["spec"]["pipelineSpec"]
    # Another config is another PipelineVersion, not an edit of this one.
    assert main([*argv[:-1], "--set", "search.steps=3", "--kubernetes-manifest"]) == 0
    _, other = yaml.safe_load_all(out.read_text())
    assert other["metadata"]["name"] != version["metadata"]["name"]
