"""`glov run --local --containers`: each task of the DAG in its image, through kfp's DockerRunner.

The closest this machine gets to a cluster: the CPU tasks run in glov-cpu, the
others in glov-gpu, each container as a pod would run it:

- as the image's non-root user (UID 10001) in group 0, when Docker runs as
  root; as the caller's own UID in group 0 otherwise (the arbitrary-UID mode
  the images support, as on OpenShift), so the files the tasks write stay theirs;
- with a read-only root filesystem: the only writable places are /tmp and
  /cache (tmpfs, gone with the container) and the mounts below;
- with no network, unless the run needs one (an s3:// store or input, a
  Pushgateway): then the host's network, so an S3 server on 127.0.0.1 answers;
- all capabilities dropped, no privilege escalation.

The store and the caches are reachable as on a cluster: the cache directory
(the cluster's cache volume), a file:// store and kfp's pipeline root are
bind-mounted at their host paths, so every path a task records (data.json's
images, artifact URIs) means the same on the host and in every container; an
S3 store is reached with the host's S3 settings (GLOV_S3_*, AWS_* keys), the
variables a cluster's Secret and ConfigMap would set.

Docker is checked before anything is created: a missing Docker, a daemon that
does not answer, or a missing image is an error naming the fix.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glov.config import GlovConfig
from glov.config.store_metrics_pipeline import PUSHGATEWAY_ENV
from glov.errors import GlovError
from glov.store.credentials import CA_BUNDLE_VAR, VALUE_VARS
from pipelines.local_console import TaskConsole
from pipelines.placement import Placement

IMAGE_UID = "10001"  # the images' USER (images/Dockerfile.*)
TMPFS = ("/tmp", "/cache")  # writable, per container
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
LABEL = "glov.run-id"  # on every task container, to find leftovers


class DockerUnavailable(GlovError):
    """Docker is not installed, or its daemon does not answer."""


def docker_client() -> Any:
    """A client of the daemon at $DOCKER_HOST (or the default socket) that answered a ping."""
    import docker

    host = os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    try:
        client = docker.from_env()
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        socket = host.removeprefix("unix://")
        installed = shutil.which("dockerd") or shutil.which("docker")
        if not installed and host.startswith("unix://") and not os.path.exists(socket):
            problem = f"Docker is not installed: no docker command and no daemon at {host}"
            fix = "install Docker (Debian: apt-get install docker.io) and start its daemon"
        else:
            problem = f"the Docker daemon at {host} does not answer ({_reason(exc)})"
            fix = (
                "start it (dockerd, or systemctl start docker), or set DOCKER_HOST "
                "to a running daemon's socket"
            )
        raise DockerUnavailable(
            f"--containers needs Docker; {problem}",
            f"{fix}; `make run` runs the same DAG without containers",
        ) from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def task_images(cfg: GlovConfig) -> list[str]:
    """The images the run's tasks use (the pipeline section's, else the built ones)."""
    placement = Placement(cfg)
    return sorted({placement.gpu_image, placement.cpu_image})


def check_images(client: Any, images: list[str]) -> None:
    """Every image is on the daemon; an error naming the missing ones and `make images`."""
    import docker

    missing = []
    for ref in images:
        try:
            client.images.get(ref)
        except docker.errors.ImageNotFound:
            missing.append(ref)
    if missing:
        host = os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
        raise GlovError(
            f"image {' and '.join(missing)} not on the Docker daemon at {host}",
            "build both images with `make images` (images/README.md), or set "
            "pipeline.gpu_image / pipeline.cpu_image to images the daemon has",
        )


def needs_network(cfg: GlovConfig, store_root: str) -> bool:
    """An s3:// store or input, or a Pushgateway to push to, is reached over the network.

    `store_root` is the run's store as given (`--run-dir s3://...` overrides
    store.uri, which then still names the default file store).
    """
    uris = [store_root, cfg.data.uri, cfg.llm.model, cfg.vlm.model, cfg.vlm.pretrained]
    return any(str(u).startswith("s3://") for u in uris if u) or bool(cfg.metrics.gateway())


@dataclass(frozen=True)
class ContainerPlan:
    """How every task container of one run is started."""

    user: str
    network: str  # "none" | "host"
    binds: list[Path]  # host directories mounted read-write at the same path
    read_only_binds: list[Path]
    environment: dict[str, str] = field(repr=False)  # may hold S3 keys: never printed

    def runner_args(self) -> dict[str, Any]:
        """kfp.local.DockerRunner's `containers.run` arguments (it mounts the pipeline root)."""
        from docker.types import Mount

        mounts = [Mount(str(p), str(p), type="bind") for p in self.binds]
        mounts += [Mount(str(p), str(p), type="bind", read_only=True) for p in self.read_only_binds]
        return {
            "user": self.user,
            "read_only": True,
            "tmpfs": {path: "rw,nosuid,nodev" for path in TMPFS},
            "network_mode": self.network,
            "mounts": mounts,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
        }


def plan_containers(
    cfg: GlovConfig, store_root: str, cache: Path, env: dict[str, str] | None = None
) -> ContainerPlan:
    """The plan for a run whose store is `store_root` and cache `cache` (absolute paths)."""
    env = dict(os.environ) if env is None else env
    binds = [cache]
    if not store_root.startswith("s3://"):
        binds.append(Path(store_root.removeprefix("file://")))
    passed = {name: env[name] for name in (*VALUE_VARS, PUSHGATEWAY_ENV) if env.get(name)}
    read_only = [Path(passed[CA_BUNDLE_VAR]).resolve()] if CA_BUNDLE_VAR in passed else []
    if read_only:
        passed[CA_BUNDLE_VAR] = str(read_only[0])
    uid = IMAGE_UID if os.geteuid() == 0 else str(os.geteuid())
    network = "host" if needs_network(cfg, store_root) else "none"
    return ContainerPlan(f"{uid}:0", network, binds, read_only, passed)


@contextlib.contextmanager
def writable_by_tasks(plan: ContainerPlan, pipeline_root: Path) -> Iterator[None]:
    """While the run lasts, what the task containers write is writable by their group.

    Docker as root runs the tasks as UID 10001, group 0: the directories they
    write (the bind mounts, the pipeline root) get group write (as the cluster's
    cache-init Job does for the cache volume), and this process's umask lets
    group 0 write into what it creates meanwhile (task directories, the run).
    Under another user the tasks run as that user, and nothing changes.
    """
    if not plan.user.startswith(f"{IMAGE_UID}:"):
        yield
        return
    for top in [*plan.binds, pipeline_root]:
        top.mkdir(parents=True, exist_ok=True)
        for path in [top, *top.rglob("*")]:
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(mode | 0o060 | (0o010 if mode & 0o100 else 0))
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


class ContainerTasks:
    """kfp's `run_docker_container`, with the plan's environment and a log per task.

    kfp's own function streams output to stdout, and (auto-removing the
    container) reports a task whose container is gone before its exit code was
    read as a success. This one reads the exit code, then removes the container
    (and its tmpfs); `stop_all` removes the containers still running when the
    run is interrupted.
    """

    def __init__(self, console: TaskConsole, plan: ContainerPlan, run_id: str):
        self.console = console
        self.plan = plan
        self.run_id = run_id
        self._running: set[Any] = set()
        self._lock = threading.Lock()

    def run(
        self, client: Any, image: str, command: list[str], volumes: dict, **run_args: Any
    ) -> int:
        log_path, label = self.console.task_of(command)
        # kfp passes the task's own variables (thread counts) as `environment`.
        environment = {**self.plan.environment, **(run_args.pop("environment", None) or {})}
        start = time.monotonic()
        container = client.containers.create(
            image,
            command,
            volumes=volumes,
            environment=environment,
            labels={LABEL: self.run_id},
            **run_args,
        )
        with self._lock:
            self._running.add(container)
        try:
            container.start()
            stream = container.logs(stream=True, follow=True)
            tail = self.console.follow(_lines(stream), log_path, label)
            code = int(container.wait()["StatusCode"])
        finally:
            self._remove(container)
        return self.console.finish(label, log_path, code, time.monotonic() - start, tail)

    def _remove(self, container: Any) -> None:
        import docker

        with self._lock:
            self._running.discard(container)
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)

    def stop_all(self) -> None:
        with self._lock:
            running = list(self._running)
        for container in running:
            self._remove(container)


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Docker's log stream as text lines (a chunk may hold several, or part of one)."""
    buffered = ""
    for chunk in chunks:
        buffered += chunk.decode("utf-8", errors="replace")
        *lines, buffered = buffered.split("\n")
        for line in lines:
            yield line + "\n"
    if buffered:
        yield buffered + "\n"
