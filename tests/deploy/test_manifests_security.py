"""Nothing runs as root or unbounded, images are pinned, secrets are templates,
RBAC is least privilege."""

from __future__ import annotations

import base64
import math
import re
from collections import Counter

from deploy_helpers import (
    CLUSTER_SCOPED,
    NAMESPACE,
    PLACEHOLDER,
    all_objects,
    containers,
    find,
    pod_templates,
)


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
                    # *_PATH names where a mounted credential is (a projected token).
                    if env["name"].endswith("_PATH"):
                        continue
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
