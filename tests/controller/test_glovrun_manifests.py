"""The GlovRun CRD, the example, the operator's RBAC and Argo CD health check,
and `glov compile --kubernetes-manifest` (Kubeflow's Pipeline resources)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from crd_validation import crd_problems  # noqa: E402
from deploy_helpers import K8S_VERSIONS, MANIFESTS, find, kustomize, role_grants  # noqa: E402

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
        "Secret",
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
    assert list(columns) == ["Phase", "Ready", "Reason", "Step", "Best", "Age"]
    for path in columns.values():
        if path.startswith(".status."):
            assert re.split(r"[.\[]", path.removeprefix(".status."))[0] in status, path
    ready = '.status.conditions[?(@.type=="Ready")]'
    assert (columns["Ready"], columns["Reason"]) == (f"{ready}.status", f"{ready}.reason")
    assert {"startTime", "completionTime"} <= status.keys()
    condition = status["conditions"]["items"]["properties"]
    assert {"type", "status", "reason", "message", "lastTransitionTime", "observedGeneration"} <= (
        condition.keys()
    )


def test_operator_rbac_is_what_kopf_uses_and_nothing_more(operator_objects):
    """test_operator.py (test_operator_calls_are_what_its_role_grants) records
    that kopf's calls are exactly these: no wildcard, no write beyond patch, no Secrets."""
    role = find(operator_objects, "Role", "glov-operator")
    assert role_grants(role) == {
        ("glov.dev", "glovruns", "list"),
        ("glov.dev", "glovruns", "watch"),
        ("glov.dev", "glovruns", "patch"),
        ("glov.dev", "glovruns/status", "patch"),
        ("", "events", "create"),
    }
    binding = find(operator_objects, "RoleBinding", "glov-operator")
    assert binding["subjects"][0]["name"] == "glov-operator"


def test_operator_reads_the_store_with_read_only_credentials(operator_objects):
    deployment = find(operator_objects, "Deployment", "glov-operator")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    secrets = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
    assert secrets == ["glov-s3-readonly"]
    template = find(operator_objects, "Secret", "glov-s3-readonly")
    assert set(template["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def test_operator_image_is_set_by_kustomize_images(tmp_path):
    """An overlay's `images:` entry retags the operator: the image is not hard-coded."""
    kustomization = {
        "resources": [os.path.relpath(MANIFESTS / "base" / "operator", tmp_path)],
        "images": [
            {
                "name": "ghcr.io/glov-kfp/glov-cpu",
                "newName": "registry.example/team/glov-cpu",
                "newTag": "9.9.9",
            }
        ],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    deployment = find(kustomize(tmp_path), "Deployment", "glov-operator")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example/team/glov-cpu:9.9.9"


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


# --- CEL rules: what the API server refuses at admission --------------------


def _example_with(**spec) -> dict:
    example = yaml.safe_load(EXAMPLE.read_text())
    example["spec"] = {**example["spec"], **spec}
    return example


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kubeflow": {"endpoint": "ml-pipeline.kubeflow:8888"}}, "http:// or https:// URL"),
        ({"profile": "smoke", "config": {"run": {"name": "x"}}}, "not both"),
        ({"storeUri": "mlpipeline/glov"}, "file:// or s3:// URI"),
        ({"kueue": {"priorityClass": "glov-batch"}}, "needs spec.kueue.queueName"),
        ({"kueue": {"queueName": "Team_A"}}, "queueName"),
    ],
)
def test_cel_rules_refuse_at_admission_what_the_operator_refuses(operator_objects, spec, message):
    schema = crd_schema(operator_objects)["schema"]["openAPIV3Schema"]
    bad = _example_with(**spec)
    found = crd_problems(bad, schema)
    assert any(message in p for p in found), found
    # The operator refuses the same spec (it still checks: the CRD may be old).
    from controller.spec import SpecError

    with pytest.raises(SpecError):
        parse_spec(bad["spec"], name="x", uid="abcdef12-0000")


def test_cel_rules_accept_the_example_and_a_full_spec(operator_objects):
    schema = crd_schema(operator_objects)["schema"]["openAPIV3Schema"]
    assert crd_problems(yaml.safe_load(EXAMPLE.read_text()), schema) == []
    full = _example_with(
        storeUri="s3://mlpipeline/glov",
        kueue={"queueName": "glov-gpu", "priorityClass": "glov-batch", "allPods": True},
        kubeflow={"endpoint": "https://kfp.example", "namespace": "team-a"},
    )
    assert crd_problems(full, schema) == []
