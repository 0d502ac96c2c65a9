"""Selectors, references and defaults line up across the rendered objects."""

from __future__ import annotations

import re
from pathlib import Path

from deploy_helpers import (
    MANIFESTS,
    NAMESPACE,
    containers,
    defaults,
    find,
    pod_templates,
)


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
