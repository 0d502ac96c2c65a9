"""Container image references: the one place their names and tags come from.

The Makefile (build, push), the pipeline compiler and the tests all ask this
module, so an image is never built under one name and referenced under another.

    gpu_image()                  -> "ghcr.io/glov-kfp/glov-gpu:0.1.0"
    cpu_image("registry.local")  -> "registry.local/glov-cpu:0.1.0"

The registry comes from the argument, else the REGISTRY environment variable
(an empty value means no registry: a local image, e.g. for `kind load`), else
DEFAULT_REGISTRY. The tag is the package version, so a release bump retags
both images together.

`python -m components.images` prints shell-style KEY=VALUE lines for the Makefile.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import tomllib
from pathlib import Path

DISTRIBUTION = "glov-kfp"
DEFAULT_REGISTRY = "ghcr.io/glov-kfp"
GPU_REPOSITORY = "glov-gpu"
CPU_REPOSITORY = "glov-cpu"
# Build arguments the Dockerfiles default to; tests/deploy checks they agree.
UV_VERSION = "0.13.8"
PYTHON_IMAGE = "python:3.11.17-slim-bookworm"
UV_IMAGE = f"ghcr.io/astral-sh/uv:{UV_VERSION}"
# The same two made from Debian packages by images/base-images.sh, where no
# registry answers (`make images` says when it uses them).
LOCAL_PYTHON_IMAGE = "glov-base/python:3.11-bookworm"
LOCAL_UV_IMAGE = f"glov-base/uv:{UV_VERSION}"

# host[:port] followed by optional lowercase path components, as in the OCI
# distribution spec's reference grammar (no scheme, no tag, no trailing slash).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?"
_REGISTRY_RE = re.compile(rf"{_HOST}(?:/{_COMPONENT})*")
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def version() -> str:
    """The package version, used as the image tag.

    A source checkout's pyproject.toml wins over installed metadata: the
    metadata is only refreshed by a re-sync, so after a version bump it would
    tag the new build with the old version. Inside the images the package is
    installed without pyproject.toml, so metadata answers there.
    """
    if _PYPROJECT.is_file():
        project = tomllib.loads(_PYPROJECT.read_text())["project"]
        if project.get("name") == DISTRIBUTION:
            return str(project["version"])
    return importlib.metadata.version(DISTRIBUTION)


def registry(value: str | None = None) -> str:
    """Resolve and validate the registry prefix ('' means none)."""
    if value is None:
        value = os.environ.get("REGISTRY", DEFAULT_REGISTRY)
    value = value.strip().rstrip("/")
    if value and not _REGISTRY_RE.fullmatch(value):
        raise ValueError(
            f"REGISTRY {value!r} is not an image registry prefix; give host[:port][/path], "
            "e.g. ghcr.io/me or localhost:5000 (no scheme, no tag)"
        )
    return value


def image(repository: str, registry_value: str | None = None) -> str:
    prefix = registry(registry_value)
    name = f"{prefix}/{repository}" if prefix else repository
    return f"{name}:{version()}"


def gpu_image(registry: str | None = None) -> str:
    """Image for LLM generation and VLM evaluation (torch with CUDA wheels)."""
    return image(GPU_REPOSITORY, registry)


def cpu_image(registry: str | None = None) -> str:
    """Slim image (no torch) for data prep, ranking and reports."""
    return image(CPU_REPOSITORY, registry)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.images", description="Print image references as KEY=VALUE lines."
    )
    parser.add_argument("--registry", help="overrides $REGISTRY and the default registry")
    args = parser.parse_args(argv)
    try:
        lines = {
            "VERSION": version(),
            "REGISTRY": registry(args.registry),
            "GPU_IMAGE": gpu_image(args.registry),
            "CPU_IMAGE": cpu_image(args.registry),
            "UV_VERSION": UV_VERSION,
            "PYTHON_IMAGE": PYTHON_IMAGE,
            "UV_IMAGE": UV_IMAGE,
            "LOCAL_PYTHON_IMAGE": LOCAL_PYTHON_IMAGE,
            "LOCAL_UV_IMAGE": LOCAL_UV_IMAGE,
        }
    except ValueError as exc:
        parser.error(str(exc))
    for key, value in lines.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
