"""The built images, checked as a platform team would before rolling them out.

- they run as their non-root user, and as an arbitrary UID in group 0 (OpenShift);
- with a read-only root file system they work, writing only to /tmp and /cache;
- importing every module of the package writes nothing outside /tmp and /cache;
- no layer holds a secret (the test keys) or anything from .venv/, runs/ or a cache;
- the CPU image's tasks import no torch; the version label equals pyproject's.
"""

from __future__ import annotations

import io
import re
import secrets
import subprocess
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import IMAGES, run_in

import components.images
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
IMAGE_USER = "10001:10001"  # USER in both Dockerfiles
ARBITRARY = "12345:0"
# Paths of a checkout that must never reach an image.
FORBIDDEN_PATH = re.compile(r"(^|/)(\.venv|runs|\.cache|\.git|tests|kfp-local)(/|$)")
WRITABLE = ("/tmp", "/cache")

WRITE_PROBE = """
import os, sys
result = {}
for d in sys.argv[1:]:
    try:
        with open(os.path.join(d, "probe"), "w") as fh:
            fh.write("x")
        result[d] = "ok"
    except OSError as exc:
        result[d] = exc.strerror
print(result)
"""


@pytest.mark.parametrize("kind", ["cpu", "gpu"])
def test_non_root_user_and_version_label(docker_client, kind):
    image = docker_client.images.get(IMAGES[kind])
    config = image.attrs["Config"]
    assert config["User"] == IMAGE_USER
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == components.images.version()
    assert labels["org.opencontainers.image.title"] == f"glov-{kind}"
    code, out = run_in(docker_client, IMAGES[kind], ["sh", "-c", "id -u; id -g; glov --version"])
    assert code == 0, out
    assert out.split() == ["10001", "10001", "glov", components.images.version()]


@pytest.mark.parametrize("kind", ["cpu", "gpu"])
def test_arbitrary_uid_in_group_0_with_a_read_only_root(docker_client, kind):
    """As OpenShift runs pods: a UID the image never heard of, group 0, root fs read-only.
    /cache is the image's volume (group-0 writable), /tmp a tmpfs; nothing else takes writes."""
    dirs = ["/tmp", "/cache/glov", "/cache", "/opt/venv", "/home/glov", "/"]
    code, out = run_in(
        docker_client,
        IMAGES[kind],
        ["sh", "-c", f"glov --version && python -c '{WRITE_PROBE}' {' '.join(dirs)}"],
        user=ARBITRARY,
        read_only=True,
        tmpfs={"/tmp": "rw"},
    )
    assert code == 0, out
    result = eval(out.splitlines()[-1])  # the probe prints a dict literal
    assert result["/tmp"] == result["/cache/glov"] == result["/cache"] == "ok", result
    for d in ("/opt/venv", "/home/glov", "/"):
        assert result[d] == "Read-only file system", (d, result)


def _package_modules() -> list[str]:
    """Every module of the five packages the images ship, by file name."""
    modules = []
    for package in ("glov", "components", "pipelines", "cli", "controller"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(set(modules))


def test_gpu_image_writes_nothing_outside_tmp_and_cache_when_importing_everything(
    docker_client,
):
    """With a writable root, `docker diff` shows what importing the package writes
    (bytecode not compiled at build time would land in /opt/venv)."""
    script = (
        "import importlib, sys\n"
        f"for m in {_package_modules()!r}:\n"
        "    importlib.import_module(m)\n"
        "print('imported', len(sys.modules))\n"
    )
    container = docker_client.containers.create(
        IMAGES["gpu"], ["python", "-c", script], network_mode="none", user=ARBITRARY
    )
    try:
        container.start()
        assert int(container.wait(timeout=900)["StatusCode"]) == 0, container.logs().decode()
        changed = [c["Path"] for c in container.diff() or []]
    finally:
        container.remove(force=True, v=True)
    outside = [p for p in changed if not p.startswith(WRITABLE) and p not in WRITABLE]
    assert not outside, f"written outside /tmp and /cache: {outside}"


def _cpu_task_modules() -> list[str]:
    """The modules the CPU image's tasks import: every components.tasks module their
    executor code names, from a pipeline with every CPU task (one pod per stage, shards)."""
    from kfp import compiler

    from glov.config import load_config
    from pipelines.glov_pipeline import build_pipeline
    from pipelines.plan import plan_pipeline

    cfg = load_config("smoke", ["pipeline.steps_per_pod=1", "pipeline.eval_shards=2"])
    path = ROOT / ".cache" / "check-cpu-tasks.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(build_pipeline(plan_pipeline(cfg)), str(path))
    text = path.read_text()
    path.unlink()
    import yaml

    spec = next(yaml.safe_load_all(text))  # then the platform (Kubernetes) spec
    modules: set[str] = set()
    for executor in spec["deploymentSpec"]["executors"].values():
        container = executor["container"]
        if container["image"] != IMAGES["cpu"]:
            continue
        code = " ".join(container.get("command", []) + container.get("args", []))
        modules |= set(re.findall(r"from (components\.tasks\.\w+) import", code))
    assert len(modules) >= 3, modules  # prepare, steps (seed, rank), shards (plan, merge)
    return sorted(modules)


def test_cpu_tasks_never_import_torch(docker_client):
    modules = _cpu_task_modules()
    script = (
        "import importlib, importlib.util, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'torchvision', 'open_clip', 'triton'))\n"
        "print(heavy, importlib.util.find_spec('torch') is None)\n"
    )
    code, out = run_in(docker_client, IMAGES["cpu"], ["python", "-c", script])
    assert code == 0, out
    assert out.strip().splitlines()[-1] == "[] True", out


class _Stream(io.RawIOBase):
    """A file object over an iterator of byte chunks (docker's image save stream)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def _scan(chunks: Iterable[bytes], needles: list[bytes]) -> tuple[set[bytes], list[str]]:
    """(needles found in any file of any layer or in the image config, every path)."""
    found: set[bytes] = set()
    paths: list[str] = []
    keep = max(len(n) for n in needles) - 1

    def search(fh: Any) -> None:
        tail = b""
        while block := fh.read(1 << 22):
            window = tail + block
            found.update(n for n in needles if n in window)
            tail = window[-keep:]

    with tarfile.open(fileobj=io.BufferedReader(_Stream(chunks), 1 << 20), mode="r|") as outer:
        for member in outer:
            if not member.isfile():
                continue
            fh = outer.extractfile(member)
            if not member.name.endswith("layer.tar"):
                search(fh)  # the image config and manifests: env, labels, history
                continue
            with tarfile.open(fileobj=fh, mode="r|") as layer:
                for entry in layer:
                    paths.append(entry.name)
                    if entry.isfile():
                        search(layer.extractfile(entry))
    return found, paths


def _layers(docker_client: Any, ref: str) -> Iterator[bytes]:
    return docker_client.images.get(ref).save(chunk_size=1 << 20)


def test_layer_scan_finds_a_planted_key(docker_client, tmp_path):
    """The scan below can fail: an image with the key in one file is caught."""
    payload = tmp_path / "payload"
    (payload / "etc").mkdir(parents=True)
    (payload / "etc" / "leak.env").write_text(f"AWS_SECRET_ACCESS_KEY={SECRET_KEY}\n")
    tag = secrets.token_hex(4)
    ref = f"glov-check-leak:{tag}"
    tar = subprocess.run(["tar", "-C", str(payload), "-c", "."], capture_output=True, check=True)
    docker_client.api.import_image_from_data(tar.stdout, repository="glov-check-leak", tag=tag)
    try:
        found, paths = _scan(_layers(docker_client, ref), [SECRET_KEY.encode()])
    finally:
        docker_client.images.remove(ref, force=True)
    assert found == {SECRET_KEY.encode()}
    assert "./etc/leak.env" in paths or "etc/leak.env" in paths


@pytest.mark.parametrize("kind", ["cpu", "gpu"])
def test_no_secret_and_nothing_from_the_checkout_in_any_layer(docker_client, kind):
    needles = [ACCESS_KEY.encode(), SECRET_KEY.encode()]
    found, paths = _scan(_layers(docker_client, IMAGES[kind]), needles)
    assert not found, f"{IMAGES[kind]} holds test credentials: {found}"
    assert len(paths) > 1000, "the scan read no layer"
    leaked = [p for p in paths if FORBIDDEN_PATH.search(p) and "site-packages" not in p]
    assert not leaked, leaked[:20]
    assert not [p for p in paths if p.startswith(("src/", "run/secrets/"))], "build leftovers"


def _build(*kinds: str) -> None:
    proc = subprocess.run(
        ["images/build.sh", *kinds], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_build_context_ignores_venv_runs_and_caches(docker_client):
    """Canaries planted in .venv/, runs/ and the cache: rebuilding both images gives the
    same image ids as a build without them (all cached), so none reached the builder."""
    _build()  # up to date with this checkout (cached right after `make images`)
    before = {kind: docker_client.images.get(ref).id for kind, ref in IMAGES.items()}
    canaries = [ROOT / ".venv" / "glov-canary", ROOT / "runs" / "glov-canary"]
    canaries.append(ROOT / ".cache" / "glov" / "glov-canary")
    created = [c for c in canaries if not c.exists()]
    for canary in created:
        canary.parent.mkdir(parents=True, exist_ok=True)
        canary.write_text(secrets.token_hex(16))
    try:
        _build()
    finally:
        for canary in created:
            canary.unlink()
    after = {kind: docker_client.images.get(ref).id for kind, ref in IMAGES.items()}
    assert after == before
