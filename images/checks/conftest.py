"""Fixtures of the image checks (`make check-containers`): the Docker daemon and the images.

These checks need Docker ($DOCKER_HOST or the default socket) and both images
(`make images`); `make test` never runs them. A missing daemon or image fails
here with the fix, not with a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import components.images
from tests.servers.s3 import S3Server, running_s3_server

IMAGES = {"gpu": components.images.gpu_image(), "cpu": components.images.cpu_image()}


@pytest.fixture(scope="session")
def docker_client() -> Any:
    import docker

    try:
        # Saving the 6 GB GPU image sends nothing for minutes: a long read timeout.
        client = docker.from_env(timeout=1800)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"no Docker daemon answers ({exc}): start one, or set DOCKER_HOST")
    for ref in IMAGES.values():
        try:
            client.images.get(ref)
        except docker.errors.ImageNotFound:
            pytest.fail(f"image {ref} is missing: build both with `make images`")
    return client


def run_in(client: Any, image: str, command: list[str], **kwargs: Any) -> tuple[int, str]:
    """Run `command` in a new container of `image` (no network unless given); its exit
    code and output. The container and its anonymous volumes are removed after."""
    kwargs.setdefault("network_mode", "none")
    container = client.containers.create(image, command, **kwargs)
    try:
        container.start()
        code = int(container.wait(timeout=900)["StatusCode"])
        return code, container.logs().decode("utf-8", errors="replace")
    finally:
        container.remove(force=True, v=True)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """nanio on 127.0.0.1, as the store tests use it; bucket `glov`."""
    with running_s3_server(tmp_path_factory.mktemp("s3")) as server:
        server.make_bucket("glov")
        yield server
