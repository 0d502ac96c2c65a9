"""manifests/argocd/glovrun-health.lua run by a real Lua 5.1 (Debian's lua5.1, the
language version of Argo CD's gopher-lua) over a table of GlovRun objects."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from deploy_helpers import MANIFESTS, find, kustomize  # noqa: E402

HEALTH = MANIFESTS / "argocd" / "glovrun-health.lua"


@pytest.fixture(scope="module")
def lua() -> str:
    """lua5.1, installed from Debian when missing (.ci/run installs it up front)."""
    if not shutil.which("lua5.1") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        wait = ["-o", "DPkg::Lock::Timeout=300"]  # another test may be installing too
        subprocess.run(["apt-get", *wait, "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", *wait, "install", "-y", "-qq", "lua5.1"], check=True, env=env)
    path = shutil.which("lua5.1")
    assert path, "lua5.1 is needed: apt-get install lua5.1"
    return path


def lua_literal(value: Any) -> str:
    """A JSON value as a Lua table constructor (arrays 1-based, as Argo CD passes them)."""
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nil"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string literal is a valid Lua 5.1 one here (ASCII)


def run_health(lua: str, objects: list[dict], tmp_path: Path) -> list[tuple[str, str]]:
    """(health status, message) of each object, one Lua process for the table."""
    script = tmp_path / "table.lua"
    script.write_text(
        f"local check = assert(loadfile({json.dumps(str(HEALTH))}))\n"
        f"local cases = {{{', '.join(lua_literal(o) for o in objects)}}}\n"
        "for _, case in ipairs(cases) do\n"
        "  obj = case  -- a global, as Argo CD sets it\n"
        "  local hs = check()\n"
        '  io.write(hs.status, "\\t", hs.message or "", "\\n")\n'
        "end\n"
    )
    proc = subprocess.run([lua, str(script)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [tuple(line.split("\t", 1)) for line in proc.stdout.splitlines()]


def glovrun(phase: str | None, *conditions: tuple, generation: int = 1, **status: Any) -> dict:
    obj: dict[str, Any] = {
        "apiVersion": "glov.dev/v1alpha1",
        "kind": "GlovRun",
        "metadata": {"name": "r", "namespace": "glov", "generation": generation},
        "spec": {"profile": "smoke", "kubeflow": {"endpoint": "http://kfp:8888"}},
    }
    if phase is None and not conditions:
        return obj
    obj["status"] = {"phase": phase, "observedGeneration": generation, **status}
    obj["status"]["conditions"] = [
        {
            "type": t,
            "status": s,
            "reason": r,
            "message": m,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
        for t, s, r, m in conditions
    ]
    return obj


READY_RUNNING = ("Ready", "True", "RunInProgress", "Kubeflow run r-1 is RUNNING")
TABLE = [
    # (what, object, health, message contains)
    ("new, no status yet", glovrun(None), "Progressing", "waiting for the GlovRun operator"),
    (
        "submitting",
        glovrun(
            "Pending", ("Ready", "Unknown", "Submitting", "the Kubeflow run is being submitted")
        ),
        "Progressing",
        "being submitted",
    ),
    (
        "Kubeflow down: waited out",
        glovrun(
            "Pending",
            ("Submitted", "False", "KubeflowUnavailable", "could not reach; retried"),
            ("Ready", "False", "KubeflowUnavailable", "could not reach; retried"),
        ),
        "Progressing",
        "could not reach",
    ),
    *[
        (
            f"submission refused: {reason}",
            glovrun(
                "Pending",
                ("Submitted", "False", reason, f"refused ({reason}); fix: the token"),
                ("Ready", "False", reason, "refused"),
                failedAttempts=1,
            ),
            "Degraded",
            f"refused ({reason})",
        )
        for reason in (
            "KubeflowUnauthorized",
            "KubeflowForbidden",
            "KubeflowRejected",
            "NamespaceRequired",
        )
    ],
    (
        "running",
        glovrun("Running", READY_RUNNING, message="Kubeflow run r-1"),
        "Progressing",
        "is RUNNING",
    ),
    (
        "running, token revoked while following",
        glovrun("Running", ("KubeflowReachable", "False", "KubeflowForbidden", "HTTP 403 in glov")),
        "Degraded",
        "HTTP 403",
    ),
    (
        "running, a spec edit refused",
        glovrun(
            "Running",
            READY_RUNNING,
            ("SpecApplied", "False", "SpecChangeRefused", "the spec changed (generation 2)"),
            generation=2,
        ),
        "Degraded",
        "the spec changed",
    ),
    (
        "a spec edit the operator has not seen yet",
        {**glovrun("Running", READY_RUNNING), "metadata": {"name": "r", "generation": 3}},
        "Progressing",
        "generation 3",
    ),
    (
        "succeeded",
        glovrun(
            "Succeeded", ("Ready", "True", "RunSucceeded", "ok"), message="Kubeflow run r succeeded"
        ),
        "Healthy",
        "succeeded",
    ),
    (
        "failed",
        glovrun(
            "Failed", ("Succeeded", "False", "RunFailed", "x"), message="ended FAILED: OOMKilled"
        ),
        "Degraded",
        "OOMKilled",
    ),
    ("invalid", glovrun("Invalid", message="spec.profile: no profile"), "Degraded", "spec.profile"),
    ("canceled", glovrun("Canceled", message="deleted outside"), "Suspended", "deleted outside"),
]


def test_health_of_each_glovrun_in_the_table(lua, tmp_path):
    results = run_health(lua, [obj for _, obj, _, _ in TABLE], tmp_path)
    assert len(results) == len(TABLE)
    for (what, _, health, text), (got, message) in zip(TABLE, results, strict=True):
        assert got == health, f"{what}: {got} ({message})"
        assert text in message, f"{what}: {message!r}"


def test_every_phase_of_the_crd_is_in_the_table():
    crd = find(
        kustomize(MANIFESTS / "base" / "operator"), "CustomResourceDefinition", "glovruns.glov.dev"
    )
    (version,) = crd["spec"]["versions"]
    phases = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["phase"][
        "enum"
    ]
    covered = {obj.get("status", {}).get("phase") for _, obj, _, _ in TABLE}
    assert set(phases) <= covered


def test_it_is_lua_5_1(lua, tmp_path):
    """Argo CD's gopher-lua is Lua 5.1: the script must not need a later one."""
    assert subprocess.run([lua, "-v"], capture_output=True, text=True).stderr.startswith("Lua 5.1")
    proc = subprocess.run(
        [lua, "-e", f"assert(loadfile({json.dumps(str(HEALTH))}))"], capture_output=True
    )
    assert proc.returncode == 0, proc.stderr
