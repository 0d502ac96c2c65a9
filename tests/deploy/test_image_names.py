"""components.images: the single source of image references, and its consumers."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib

import pytest
from deploy_helpers import IMAGES, ROOT, containers, pod_templates

import components.images

PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture(autouse=True)
def no_registry_env(monkeypatch):
    monkeypatch.delenv("REGISTRY", raising=False)


def test_defaults_use_the_package_version_as_tag():
    assert components.images.version() == PYPROJECT_VERSION
    assert components.images.gpu_image() == f"ghcr.io/glov-kfp/glov-gpu:{PYPROJECT_VERSION}"
    assert components.images.cpu_image() == f"ghcr.io/glov-kfp/glov-cpu:{PYPROJECT_VERSION}"


def test_installed_metadata_answers_without_a_checkout(monkeypatch, tmp_path):
    # Inside the images glov is installed as a wheel with no pyproject.toml.
    monkeypatch.setattr(components.images, "_PYPROJECT", tmp_path / "pyproject.toml")
    assert components.images.version() == importlib.metadata.version("glov-kfp")


def test_registry_from_argument_env_or_none(monkeypatch):
    monkeypatch.setenv("REGISTRY", "registry.example:5000/team/")
    assert (
        components.images.gpu_image() == f"registry.example:5000/team/glov-gpu:{PYPROJECT_VERSION}"
    )
    # The argument beats the environment.
    assert (
        components.images.cpu_image("localhost:5001")
        == f"localhost:5001/glov-cpu:{PYPROJECT_VERSION}"
    )
    # An empty REGISTRY means a local image (kind load, minikube image load).
    monkeypatch.setenv("REGISTRY", "")
    assert components.images.cpu_image() == f"glov-cpu:{PYPROJECT_VERSION}"


@pytest.mark.parametrize(
    "bad",
    ["https://ghcr.io/me", "ghcr.io/Me", "ghcr.io/me:1.0/x", "ghcr.io/me glov", "ghcr.io//me"],
)
def test_malformed_registry_is_refused(bad):
    with pytest.raises(ValueError, match="REGISTRY"):
        components.images.gpu_image(bad)


def _module(*args: str, registry: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin"}
    if registry is not None:
        env["REGISTRY"] = registry
    return subprocess.run(
        [sys.executable, "-m", "components.images", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_module_prints_makefile_lines():
    proc = _module(registry="localhost:5000")
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split("=", 1) for line in proc.stdout.splitlines())
    assert values == {
        "VERSION": PYPROJECT_VERSION,
        "REGISTRY": "localhost:5000",
        "GPU_IMAGE": f"localhost:5000/glov-gpu:{PYPROJECT_VERSION}",
        "CPU_IMAGE": f"localhost:5000/glov-cpu:{PYPROJECT_VERSION}",
        "UV_VERSION": components.images.UV_VERSION,
        # The base images: the registry's, and the Debian-made stand-ins (make images).
        "PYTHON_IMAGE": "python:3.11.17-slim-bookworm",
        "UV_IMAGE": f"ghcr.io/astral-sh/uv:{components.images.UV_VERSION}",
        "LOCAL_PYTHON_IMAGE": "glov-base/python:3.11-bookworm",
        "LOCAL_UV_IMAGE": f"glov-base/uv:{components.images.UV_VERSION}",
    }
    # Each line must survive `make`'s and the shell's parsing unchanged.
    assert all(re.fullmatch(r"[A-Z_]+=[A-Za-z0-9._:/-]*", line) for line in proc.stdout.split())
    assert "--registry" in _module("--help").stdout
    assert "GPU_IMAGE=ghcr.io/x/glov-gpu:" in _module("--registry", "ghcr.io/x").stdout


def test_module_rejects_a_bad_registry_with_a_message():
    proc = _module(registry="http://localhost:5000")
    assert proc.returncode == 2 and "host[:port][/path]" in proc.stderr and not proc.stdout


def test_manifests_reference_glov_images_only_by_their_canonical_names(rendered):
    names = {
        components.images.GPU_REPOSITORY: components.images.gpu_image(),
        components.images.CPU_REPOSITORY: components.images.cpu_image(),
    }
    every = [
        c["image"]
        for objs in rendered.values()
        for _, pod in pod_templates(objs)
        for c in containers(pod)
    ]
    assert every, "no container images rendered at all"
    for ref in every:
        repo = ref.split("@")[0].rsplit(":", 1)[0].rsplit("/", 1)[-1]
        if repo.startswith("glov-"):
            assert repo in names and ref.endswith(f"/{repo}:{PYPROJECT_VERSION}"), (
                f"{ref}: reference glov images as components.images gives them ({names[repo]})"
            )


def test_images_readme_names_the_images():
    readme = (IMAGES / "README.md").read_text()
    for repo in (components.images.GPU_REPOSITORY, components.images.CPU_REPOSITORY):
        assert f"`{repo}`" in readme
    assert "python -m components.images" in readme
