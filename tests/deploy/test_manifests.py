"""Kustomize overlays: they build, validate, run nothing as root and leak nothing."""

from __future__ import annotations

import base64
import copy
import json
import math
import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from deploy_helpers import (
    MANIFESTS,
    NAMESPACE,
    OVERLAYS,
    containers,
    find,
    kustomize,
    pod_templates,
)

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


def _validate_core(obj: dict, version: str) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


def test_core_objects_validate_against_kubernetes_schemas(rendered):
    for overlay, obj in all_objects(rendered):
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # CRDs: checked field by field below
        for version in K8S_VERSIONS:
            try:
                _validate_core(obj, version)
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
        _validate_core(deployment, K8S_VERSIONS[-1])


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


# --- security ---------------------------------------------------------------


def test_no_container_runs_as_root(rendered):
    for overlay, objs in rendered.items():
        for label, pod in pod_templates(objs):
            pod_ctx = pod.get("securityContext", {})
            for c in containers(pod):
                ctx = {**pod_ctx, **c.get("securityContext", {})}
                where = f"{overlay}: {label} container {c['name']}"
                assert ctx.get("runAsNonRoot") is True, f"{where}: runAsNonRoot"
                assert isinstance(ctx.get("runAsUser"), int) and ctx["runAsUser"] > 0, where
                assert ctx.get("runAsGroup", 1) != 0, where
                sc = c.get("securityContext", {})
                assert sc.get("allowPrivilegeEscalation") is False, where
                assert not sc.get("privileged"), where
                assert "ALL" in sc.get("capabilities", {}).get("drop", []), where
                assert not sc.get("capabilities", {}).get("add"), where
            assert not pod.get("hostNetwork") and not pod.get("hostPID"), label
            assert not [v for v in pod.get("volumes", []) if "hostPath" in v], label


def test_every_container_requests_and_limits_cpu_and_memory(rendered):
    for overlay, objs in rendered.items():
        for label, pod in pod_templates(objs):
            for c in containers(pod):
                res = c.get("resources", {})
                for kind in ("requests", "limits"):
                    assert {"cpu", "memory"} <= res.get(kind, {}).keys(), (
                        f"{overlay}: {label}/{c['name']} lacks cpu/memory {kind}"
                    )


def test_every_image_is_pinned(rendered):
    for overlay, objs in rendered.items():
        for label, pod in pod_templates(objs):
            for c in containers(pod):
                image = c["image"]
                name, _, tag = image.split("@")[0].rpartition(":")
                assert "@sha256:" in image or (name and "/" not in tag and tag != "latest"), (
                    f"{overlay}: {label} uses unpinned image {image}"
                )
                assert re.search(r"\d", tag), f"{image}: pin an exact version tag"


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def secret_problems(secret: dict) -> list[str]:
    """Values that could be real credentials: anything but a placeholder."""
    problems = []
    values = dict(secret.get("stringData", {}))
    for key, raw in secret.get("data", {}).items():
        try:
            values[key] = base64.b64decode(raw, validate=True).decode()
        except ValueError:
            problems.append(f"{key}: data is not valid base64")
    for key, value in values.items():
        if not PLACEHOLDER.fullmatch(str(value)):
            problems.append(f"{key}: {value!r} is not a placeholder (REPLACE_ME)")
        elif len(value) >= 16 and _entropy(value) > 3.5:
            problems.append(f"{key}: high-entropy value")
    return problems


def test_secret_checker_rejects_real_looking_keys():
    real = {"stringData": {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}
    encoded = {"data": {"k": base64.b64encode(b"minio123-supersecret").decode()}}
    assert secret_problems(real) and secret_problems(encoded)
    assert not secret_problems({"stringData": {"k": "REPLACE_ME"}})


def test_secrets_are_templates_with_placeholders(rendered):
    for overlay, objs in rendered.items():
        secrets = [o for o in objs if o["kind"] == "Secret"]
        assert secrets, overlay
        for secret in secrets:
            assert secret.get("stringData"), f"{secret['metadata']['name']}: no template keys"
            problems = secret_problems(secret)
            assert not problems, f"{overlay}: Secret {secret['metadata']['name']}: {problems}"
    # Nothing outside Secrets may carry credentials either (ConfigMaps, env).
    for overlay, obj in all_objects(rendered):
        if obj["kind"] == "ConfigMap":
            for key in obj.get("data", {}):
                # *_NAME keys name a Secret, they do not hold one.
                if not key.endswith("_NAME"):
                    assert not re.search(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY", key), (overlay, key)
        for _, pod in pod_templates([obj]):
            for c in containers(pod):
                for env in c.get("env", []):
                    if re.search(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY", env["name"]):
                        assert "value" not in env, f"{overlay}: literal {env['name']}"


def test_rbac_is_namespaced_and_least_privilege(rendered):
    for overlay, objs in rendered.items():
        kinds = {o["kind"] for o in objs}
        assert not kinds & {"ClusterRole", "ClusterRoleBinding"}, overlay
        role = find(objs, "Role", "glov-pipeline")
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), f"{overlay}: wildcard {field}"
            assert not set(rule["verbs"]) & {
                "delete",
                "deletecollection",
                "escalate",
                "bind",
                "impersonate",
            }, rule
            if "secrets" in rule["resources"]:
                assert rule["verbs"] == ["get"] and rule.get("resourceNames"), (
                    f"{overlay}: secrets must be readable only by name"
                )
            if rule.get("apiGroups") == [""] and set(rule["resources"]) & {"pods", "configmaps"}:
                assert not set(rule["verbs"]) & {"create", "update", "patch"}, rule
        binding = find(objs, "RoleBinding", "glov-pipeline")
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "glov-pipeline",
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "glov-pipeline", "namespace": NAMESPACE}
        ]
        find(objs, "ServiceAccount", "glov-pipeline")


def test_namespace_enforces_pod_security(rendered):
    for overlay, objs in rendered.items():
        labels = find(objs, "Namespace", NAMESPACE)["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] in {"baseline", "restricted"}
        assert labels["pod-security.kubernetes.io/warn"] == "restricted", overlay


# --- wiring -----------------------------------------------------------------


def test_everything_namespaced_lands_in_glov(rendered):
    for overlay, obj in all_objects(rendered):
        ns = obj["metadata"].get("namespace")
        if obj["kind"] in CLUSTER_SCOPED:
            assert ns is None, f"{overlay}: {obj['kind']} is cluster-scoped"
        else:
            assert ns == NAMESPACE, f"{overlay}: {obj['kind']}/{obj['metadata']['name']} in {ns}"


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and selector.items() <= labels.items()


def test_services_and_policies_select_real_pods(rendered):
    for overlay, objs in rendered.items():
        pods = [
            (label, o)
            for o in objs
            if o["kind"] in {"Deployment", "StatefulSet"}
            for label, _ in pod_templates([o])
        ]
        for svc in (o for o in objs if o["kind"] == "Service"):
            targets = [
                o
                for _, o in pods
                if _selects(svc["spec"]["selector"], o["spec"]["template"]["metadata"]["labels"])
            ]
            assert len(targets) == 1, f"{overlay}: Service {svc['metadata']['name']}"
            names = {
                p.get("name")
                for c in containers(targets[0]["spec"]["template"]["spec"])
                for p in c.get("ports", [])
            }
            for port in svc["spec"]["ports"]:
                assert port["targetPort"] in names | {port["port"]}, port
            dep_sel = targets[0]["spec"]["selector"]["matchLabels"]
            assert _selects(dep_sel, targets[0]["spec"]["template"]["metadata"]["labels"])
        for pol in (o for o in objs if o["kind"] == "NetworkPolicy"):
            sel = pol["spec"]["podSelector"]["matchLabels"]
            assert [
                o for _, o in pods if _selects(sel, o["spec"]["template"]["metadata"]["labels"])
            ], f"{overlay}: NetworkPolicy {pol['metadata']['name']} selects no pod"
            # Pipeline pods must be able to reach what the policy protects.
            namespaces = [
                v
                for rule in pol["spec"]["ingress"]
                for peer in rule["from"]
                for e in peer.get("namespaceSelector", {}).get("matchExpressions", [])
                for v in e["values"]
            ]
            assert NAMESPACE in namespaces, pol["metadata"]["name"]


def test_pod_references_resolve(rendered):
    for overlay, objs in rendered.items():
        names = {(o["kind"], o["metadata"]["name"]) for o in objs}
        for label, pod in pod_templates(objs):
            for vol in pod.get("volumes", []):
                if "persistentVolumeClaim" in vol:
                    claim = vol["persistentVolumeClaim"]["claimName"]
                    assert ("PersistentVolumeClaim", claim) in names, (overlay, label, claim)
                if "configMap" in vol:
                    assert ("ConfigMap", vol["configMap"]["name"]) in names, (overlay, label)
            for c in containers(pod):
                for src in c.get("envFrom", []):
                    if "secretRef" in src:
                        assert ("Secret", src["secretRef"]["name"]) in names, (overlay, label)
                    if "configMapRef" in src:
                        assert ("ConfigMap", src["configMapRef"]["name"]) in names
                for env in c.get("env", []):
                    ref = env.get("valueFrom", {}).get("configMapKeyRef")
                    if ref:
                        cm = find(objs, "ConfigMap", ref["name"])
                        assert ref["key"] in cm["data"], (overlay, label, ref)


def test_defaults_match_what_the_overlay_deploys(rendered):
    for objs in rendered.values():
        d = defaults(objs)
        find(objs, "ServiceAccount", d["GLOV_SERVICE_ACCOUNT"])
        find(objs, "PersistentVolumeClaim", d["GLOV_CACHE_PVC"])
        find(objs, "Secret", d["GLOV_S3_SECRET_NAME"])
        assert d["GLOV_CACHE_DIR"].startswith(d["GLOV_CACHE_MOUNT"] + "/")
        host, port = d["GLOV_PUSHGATEWAY"].rsplit(":", 1)
        svc = find(objs, "Service", "glov-pushgateway")
        assert host in {
            "glov-pushgateway",
            f"glov-pushgateway.{NAMESPACE}",
            f"glov-pushgateway.{NAMESPACE}.svc",
        }
        assert int(port) in {p["port"] for p in svc["spec"]["ports"]}
        bucket = d["GLOV_S3_BUCKET"]
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket), bucket
        assert d["GLOV_STORE_URI"].startswith(f"s3://{bucket}/")
        assert re.fullmatch(r"https?://[a-z0-9.-]+:\d+", d["AWS_ENDPOINT_URL"])
        secret = find(objs, "Secret", d["GLOV_S3_SECRET_NAME"])
        assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= secret["stringData"].keys()
    kubeflow = defaults(rendered["kubeflow"])
    assert kubeflow["AWS_ENDPOINT_URL"] == "http://minio-service.kubeflow:9000"
    assert kubeflow["GLOV_S3_BUCKET"] == "mlpipeline"
    standalone = defaults(rendered["standalone"])
    host, port = re.fullmatch(r"http://([^:]+):(\d+)", standalone["AWS_ENDPOINT_URL"]).groups()
    svc = find(rendered["standalone"], "Service", host.split(".")[0])
    assert host.split(".")[1] == NAMESPACE and int(port) in {
        p["port"] for p in svc["spec"]["ports"]
    }


def _parse_selector(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def _parse_tolerations(text: str) -> list[dict]:
    out = []
    for item in filter(None, text.split(";")):
        parts = item.split(":")
        tol = {"key": parts[0], "operator": parts[1]}
        if len(parts) == 4:
            tol["value"] = parts[2]
        tol["effect"] = parts[-1]
        out.append(tol)
    return out


def test_cache_init_job_matches_gpu_defaults_and_image_user(rendered):
    dockerfile = (Path(MANIFESTS).parent / "images" / "Dockerfile.gpu").read_text()
    image_uid, image_gid = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.M)[-1]
    for overlay, objs in rendered.items():
        d = defaults(objs)
        assert (d["GLOV_RUN_AS_USER"], d["GLOV_RUN_AS_GROUP"]) == (image_uid, image_gid)
        job = find(objs, "Job", "glov-cache-init")["spec"]["template"]["spec"]
        assert job["nodeSelector"] == _parse_selector(d["GLOV_GPU_NODE_SELECTOR"]), overlay
        assert job["tolerations"] == _parse_tolerations(d["GLOV_GPU_TOLERATIONS"]), overlay
        assert job["securityContext"]["fsGroup"] == int(d["GLOV_RUN_AS_GROUP"])
        mounts = {m["mountPath"] for c in job["containers"] for m in c["volumeMounts"]}
        assert d["GLOV_CACHE_MOUNT"] in mounts
        assert d["GLOV_GPU_RESOURCE"] == "nvidia.com/gpu" and int(d["GLOV_GPU_COUNT"]) >= 1
        # The images point GLOV_CACHE_DIR at the same place the pipeline is told.
        for kind in ("gpu", "cpu"):
            text = (Path(MANIFESTS).parent / "images" / f"Dockerfile.{kind}").read_text()
            assert f"GLOV_CACHE_DIR={d['GLOV_CACHE_DIR']}" in text, kind


# --- the standalone MinIO refuses placeholder credentials ---------------------


def _sh(script: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", "-c", script, *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_minio_refuses_to_start_with_placeholder_credentials(rendered):
    pod = find(rendered["standalone"], "Deployment", "glov-minio")["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["command"] == ["/bin/sh", "-c"]
    script = c["args"][0]
    placeholder = _sh(
        script, {"MINIO_ROOT_USER": "REPLACE_ME", "MINIO_ROOT_PASSWORD": "REPLACE_ME"}
    )
    assert placeholder.returncode == 1 and "REPLACE_ME" in placeholder.stderr
    # Filled in: the guard passes and execs minio (absent here: 127, not found).
    filled = _sh(script, {"MINIO_ROOT_USER": "admin", "MINIO_ROOT_PASSWORD": "x" * 12})
    assert filled.returncode == 127 and "minio" in filled.stderr


SETUP_SCRIPT = MANIFESTS / "overlays" / "standalone" / "minio" / "setup-minio.sh"
# Stand-in for the mc binary (not installed here): logs each call, keeps a copy
# of the policy file, and answers attach/info as the test asks.
FAKE_MC = """#!/bin/sh
echo "$*" >> "$MC_LOG"
for last; do :; done
case "$*" in
    *"admin policy create"*) cp "$last" "$MC_LOG.policy" ;;
    *"admin policy attach"*) exit "${MC_ATTACH_RC:-0}" ;;
    *"admin user info"*) echo "${MC_USER_INFO:-}" ;;
esac
"""
SETUP_ENV = {
    "MINIO_ROOT_USER": "admin",
    "MINIO_ROOT_PASSWORD": "x" * 12,
    "AWS_ACCESS_KEY_ID": "glov",
    "AWS_SECRET_ACCESS_KEY": "y" * 12,
    "MINIO_URL": "http://glov-minio:9000",
    "GLOV_S3_BUCKET": "glov",
}


def _setup(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "mc").write_text(FAKE_MC)
    (bindir / "mc").chmod(0o755)
    log = tmp_path / "mc.log"
    log.write_text("")
    proc = subprocess.run(
        ["sh", str(SETUP_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=30,
        env={
            "PATH": f"{bindir}:/usr/bin:/bin",
            "TMPDIR": str(tmp_path),
            "MC_LOG": str(log),
            **SETUP_ENV,
            **env,
        },
    )
    return proc, log.read_text().splitlines()


def test_minio_setup_script_refuses_placeholders_before_calling_mc(tmp_path):
    syntax = subprocess.run(["sh", "-n", str(SETUP_SCRIPT)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    for key in ("MINIO_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"):
        proc, calls = _setup(tmp_path, **{key: "REPLACE_ME"})
        assert proc.returncode == 1 and f"{key} is empty or still REPLACE_ME" in proc.stderr
        assert calls == []
    proc, calls = _setup(tmp_path, AWS_ACCESS_KEY_ID="admin")
    assert proc.returncode == 1 and "other than MinIO's root user" in proc.stderr
    assert calls == []


def test_minio_setup_script_creates_a_bucket_scoped_user(tmp_path):
    proc, calls = _setup(tmp_path)
    assert proc.returncode == 0, proc.stderr
    cfg = f"--config-dir {tmp_path}/mc"
    assert calls == [
        f"{cfg} alias set glov http://glov-minio:9000 admin {'x' * 12}",
        f"{cfg} mb --ignore-existing glov/glov",
        f"{cfg} admin policy create glov glov-pipeline {tmp_path}/glov-pipeline-policy.json",
        f"{cfg} admin user add glov glov {'y' * 12}",
        f"{cfg} admin policy attach glov glov-pipeline --user glov",
    ]
    policy = json.loads((tmp_path / "mc.log.policy").read_text())
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert resources == {"arn:aws:s3:::glov", "arn:aws:s3:::glov/*"}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert not [a for a in actions if "*" in a or a.startswith("admin:")]


def test_minio_setup_script_rerun_accepts_only_an_existing_attachment(tmp_path):
    proc, _ = _setup(
        tmp_path, MC_ATTACH_RC="1", MC_USER_INFO='{"accessKey":"glov","policyName":"glov-pipeline"}'
    )
    assert proc.returncode == 0, proc.stderr
    proc, _ = _setup(tmp_path, MC_ATTACH_RC="1", MC_USER_INFO='{"accessKey":"glov"}')
    assert proc.returncode == 1


# --- hostPath component --------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_hostpath_component_rebinds_the_cache_claim(overlay, tmp_path):
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(MANIFESTS / "overlays" / overlay, tmp_path)],
                "components": [
                    os.path.relpath(MANIFESTS / "components" / "hostpath-cache", tmp_path)
                ],
            }
        )
    )
    objs = kustomize(tmp_path)
    pvc = find(objs, "PersistentVolumeClaim", "glov-model-cache")
    pv = find(objs, "PersistentVolume", pvc["spec"]["volumeName"])
    assert pv["spec"]["storageClassName"] == pvc["spec"]["storageClassName"]
    assert pv["spec"]["claimRef"] == {"namespace": NAMESPACE, "name": "glov-model-cache"}
    assert pv["spec"]["capacity"]["storage"] == pvc["spec"]["resources"]["requests"]["storage"]
    assert set(pvc["spec"]["accessModes"]) <= set(pv["spec"]["accessModes"])
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    for obj in (pv, pvc):
        _validate_core(obj, K8S_VERSIONS[-1])


# --- filling in the templates ---------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_untracked_local_overlay_replaces_every_placeholder(overlay, tmp_path):
    """The documented way to deploy with real credentials: an overlay outside
    git whose secretGenerator replaces the templates under the same names."""
    secrets = {
        "glov-s3": {
            "AWS_ACCESS_KEY_ID": "glov-pipeline",
            "AWS_SECRET_ACCESS_KEY": "test-only-" + "s" * 20,
        }
    }
    if overlay == "standalone":
        secrets["glov-minio-root"] = {
            "MINIO_ROOT_USER": "admin",
            "MINIO_ROOT_PASSWORD": "test-only-" + "r" * 20,
        }
    generators = []
    for name, values in secrets.items():
        env = tmp_path / f"{name}.env"
        env.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        generators.append(
            {"name": name, "namespace": NAMESPACE, "behavior": "replace", "envs": [env.name]}
        )
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(MANIFESTS / "overlays" / overlay, tmp_path)],
                "secretGenerator": generators,
                "generatorOptions": {"disableNameSuffixHash": True},
            }
        )
    )
    objs = kustomize(tmp_path)
    left = [
        o["metadata"]["name"]
        for o in objs
        if o["kind"] == "Secret" and "REPLACE_ME" in yaml.safe_dump(o)
    ]
    assert not left, f"placeholders left in {left}"
    # The Makefile's deploy guard greps the rendered YAML for this pattern.
    assert not re.search(r": REPLACE_ME$", yaml.safe_dump_all(objs), re.M)
    for name, values in secrets.items():
        secret = find(objs, "Secret", name)
        decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        assert decoded == values
