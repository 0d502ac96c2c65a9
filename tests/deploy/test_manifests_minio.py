"""The standalone MinIO, its setup script, the hostPath cache and local overlays."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from deploy_helpers import (
    K8S_VERSIONS,
    MANIFESTS,
    NAMESPACE,
    OVERLAYS,
    find,
    kustomize,
    validate_core,
)


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
# of each policy file (MC_LOG.<policy>), and answers attach/info as the test asks.
FAKE_MC = """#!/bin/sh
echo "$*" >> "$MC_LOG"
for last; do :; done
case "$*" in
    *"admin policy create"*) cp "$last" "$MC_LOG.$(basename "$last" -policy.json)" ;;
    *"admin policy attach"*) exit "${MC_ATTACH_RC:-0}" ;;
    *"admin user info"*) echo "${MC_USER_INFO:-}" ;;
esac
"""
SETUP_ENV = {
    "MINIO_ROOT_USER": "admin",
    "MINIO_ROOT_PASSWORD": "x" * 12,
    "AWS_ACCESS_KEY_ID": "glov",
    "AWS_SECRET_ACCESS_KEY": "y" * 12,
    "READONLY_AWS_ACCESS_KEY_ID": "glov-operator",
    "READONLY_AWS_SECRET_ACCESS_KEY": "z" * 12,
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
    for key in (
        "MINIO_ROOT_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "READONLY_AWS_ACCESS_KEY_ID",
        "READONLY_AWS_SECRET_ACCESS_KEY",
    ):
        proc, calls = _setup(tmp_path, **{key: "REPLACE_ME"})
        assert proc.returncode == 1 and f"{key} is empty or still REPLACE_ME" in proc.stderr
        assert calls == []
    proc, calls = _setup(tmp_path, AWS_ACCESS_KEY_ID="admin")
    assert proc.returncode == 1 and "other than MinIO's root user" in proc.stderr
    assert calls == []
    proc, calls = _setup(tmp_path, READONLY_AWS_ACCESS_KEY_ID="glov")
    assert proc.returncode == 1 and "read-only policy" in proc.stderr
    assert calls == []


def test_minio_setup_script_creates_a_bucket_scoped_user_and_a_read_only_one(tmp_path):
    proc, calls = _setup(tmp_path)
    assert proc.returncode == 0, proc.stderr
    cfg = f"--config-dir {tmp_path}/mc"
    assert calls == [
        f"{cfg} alias set glov http://glov-minio:9000 admin {'x' * 12}",
        f"{cfg} mb --ignore-existing glov/glov",
        f"{cfg} admin policy create glov glov-pipeline {tmp_path}/glov-pipeline-policy.json",
        f"{cfg} admin user add glov glov {'y' * 12}",
        f"{cfg} admin policy attach glov glov-pipeline --user glov",
        f"{cfg} admin policy create glov glov-readonly {tmp_path}/glov-readonly-policy.json",
        f"{cfg} admin user add glov glov-operator {'z' * 12}",
        f"{cfg} admin policy attach glov glov-readonly --user glov-operator",
    ]
    actions = {}
    for name in ("glov-pipeline", "glov-readonly"):
        policy = json.loads((tmp_path / f"mc.log.{name}").read_text())
        resources = {r for s in policy["Statement"] for r in s["Resource"]}
        assert resources == {"arn:aws:s3:::glov", "arn:aws:s3:::glov/*"}
        actions[name] = {a for s in policy["Statement"] for a in s["Action"]}
        assert not [a for a in actions[name] if "*" in a or a.startswith("admin:")]
    # The operator's user reads and lists; nothing that writes or deletes.
    assert actions["glov-readonly"] == {"s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject"}


def test_minio_setup_script_rerun_accepts_only_an_existing_attachment(tmp_path):
    # (The fake answers `user info` alike for both users: both policies attached.)
    info = '{"accessKey":"glov","policyName":"glov-pipeline,glov-readonly"}'
    proc, _ = _setup(tmp_path, MC_ATTACH_RC="1", MC_USER_INFO=info)
    assert proc.returncode == 0, proc.stderr
    only_pipeline = '{"accessKey":"glov","policyName":"glov-pipeline"}'
    proc, _ = _setup(tmp_path, MC_ATTACH_RC="1", MC_USER_INFO=only_pipeline)
    assert proc.returncode == 1  # the read-only user's policy is not attached
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
        validate_core(obj, K8S_VERSIONS[-1])


# --- filling in the templates ---------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_untracked_local_overlay_replaces_every_placeholder(overlay, tmp_path):
    """The documented way to deploy with real credentials: an overlay outside
    git whose secretGenerator replaces the templates under the same names."""
    secrets = {
        "glov-s3": {
            "AWS_ACCESS_KEY_ID": "glov-pipeline",
            "AWS_SECRET_ACCESS_KEY": "test-only-" + "s" * 20,
        },
        "glov-s3-readonly": {
            "AWS_ACCESS_KEY_ID": "glov-operator",
            "AWS_SECRET_ACCESS_KEY": "test-only-" + "o" * 20,
        },
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
