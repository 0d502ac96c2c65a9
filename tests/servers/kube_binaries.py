"""kube-apiserver, etcd and Kueue's controller, built from the Go module proxy into a cache.

Each tool set is a tiny Go main module under tests/servers/kube_modules/ whose
go.mod pins the versions and names the commands with `tool` lines, and whose
committed go.sum makes every download verifiable:

- apiserver/: k8s.io/kubernetes (cmd/kube-apiserver) with the usual replace
  lines for its staging modules, and go.etcd.io/etcd/server/v3 (etcd's own
  main package) at the version that Kubernetes release pins. One module, so
  the packages both share (gRPC, protobuf, the etcd client) compile once.
- kueue/: sigs.k8s.io/kueue (cmd/kueue); its CRDs come from the same module.

The binaries land in a content-keyed directory: the key hashes the module's
go.mod and go.sum, this file, and the Go version, so any change to what is
built or how rebuilds, and nothing else does. The cache lives outside the
checkout (GLOV_KUBE_CACHE, default ~/.cache/glov-kfp/kube-binaries) so every
worktree and every CI step on a machine reuses one build; a file lock makes
concurrent callers (pytest-xdist workers, two checkouts) wait for one build.
Go's own module and build caches stay where `go env` puts them.

    python -m tests.servers.kube_binaries [apiserver|kueue ...]   # build or reuse
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from glov.filelock import exclusive

MODULES = Path(__file__).with_name("kube_modules")
CACHE_ENV = "GLOV_KUBE_CACHE"
TOOL_SETS = ("apiserver", "kueue")
# `go build` names a command after its import path's last element before a
# major-version suffix: etcd's server module (go.etcd.io/etcd/server/v3) comes out
# as "server".
RENAMES = {"server": "etcd"}


class BuildError(RuntimeError):
    """The toolchain is missing or a build failed; the message says what to do."""


@dataclass(frozen=True)
class Build:
    """One built tool set: its binaries and what they were built from."""

    directory: Path
    versions: dict[str, str]
    seconds: float
    reused: bool

    def binary(self, name: str) -> Path:
        return self.directory / "bin" / name

    @property
    def files(self) -> Path:
        """Files copied out of the modules with the binaries (Kueue's CRDs)."""
        return self.directory / "files"


def cache_root() -> Path:
    default = Path.home() / ".cache" / "glov-kfp" / "kube-binaries"
    return Path(os.environ.get(CACHE_ENV) or default)


def go() -> str:
    path = shutil.which("go")
    if path is None:
        raise BuildError(
            "the Go toolchain (go >= 1.25) is needed to build kube-apiserver and etcd "
            "for the operator tests: install it (https://go.dev/dl or apt-get install "
            "golang-go) and make sure GOPROXY reaches a Go module proxy"
        )
    return path


def go_version() -> str:
    out = subprocess.run([go(), "env", "GOVERSION"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def module_dir(tool_set: str) -> Path:
    if tool_set not in TOOL_SETS:
        raise BuildError(f"unknown tool set {tool_set!r}: choose one of {', '.join(TOOL_SETS)}")
    return MODULES / tool_set


def required_versions(tool_set: str) -> dict[str, str]:
    """The modules that provide the go.mod's tools, with their pinned versions.

    `go mod tidy` marks them `// indirect` (nothing in the module imports a
    tool), so they are found by the tool lines rather than by that comment.
    """
    text = (module_dir(tool_set) / "go.mod").read_text()
    tools = re.findall(r"^\s*(?:tool\s+)?([\w.\-/]+)\s*$", _block(text, "tool"), re.M)
    pins = dict(re.findall(r"^\s*(?:require\s+)?(\S+)\s+(v\S+)", _block(text, "require"), re.M))
    return {
        module: version
        for module, version in sorted(pins.items())
        if any(tool == module or tool.startswith(module + "/") for tool in tools)
    }


def _block(text: str, directive: str) -> str:
    """Every line of `directive`, whether written as one line or as a ( ) block."""
    blocks = re.findall(rf"^{directive} \((.*?)^\)", text, re.S | re.M)
    singles = re.findall(rf"^{directive} ([^(\n].*)$", text, re.M)
    return "\n".join(blocks + singles)


def cache_key(tool_set: str) -> str:
    digest = hashlib.sha256()
    for part in (
        (module_dir(tool_set) / "go.mod").read_bytes(),
        (module_dir(tool_set) / "go.sum").read_bytes(),
        Path(__file__).read_bytes(),
        go_version().encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return f"{tool_set}-{digest.hexdigest()[:16]}"


def _ldflags(versions: dict[str, str]) -> str:
    """Strip symbols; stamp kube-apiserver's version (it reports v0.0.0 otherwise).

    Clients read it from /version: Kueue, for one, gates features on it.
    """
    flags = ["-s", "-w"]
    kubernetes = versions.get("k8s.io/kubernetes")
    if kubernetes:
        major, minor = kubernetes.lstrip("v").split(".")[:2]
        base = "k8s.io/component-base/version"
        flags += [
            f"-X {base}.gitVersion={kubernetes}",
            f"-X {base}.gitMajor={major}",
            f"-X {base}.gitMinor={minor}",
            f"-X {base}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # go.sum is committed: a build never rewrites it, and the toolchain is this one.
    env.update(GOFLAGS="-mod=readonly", GOTOOLCHAIN="local", CGO_ENABLED="0")
    return env


def _module_source(tool_set: str, module: str) -> Path:
    """Where Go unpacked `module` (at the version go.mod pins) in its module cache."""
    out = subprocess.run(
        [go(), "mod", "download", "-json", module],
        cwd=module_dir(tool_set),
        env=_go_env(),
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise BuildError(f"go mod download {module} failed:\n{out.stderr[-3000:]}")
    return Path(json.loads(out.stdout)["Dir"])


def _copy_files(tool_set: str, dest: Path) -> None:
    if tool_set == "kueue":
        # Its CRDs and webhook configurations, as its kustomize components build them.
        components = _module_source(tool_set, "sigs.k8s.io/kueue") / "config/components"
        for name in ("crd", "webhook"):
            _copy_writable(components / name, dest / name)


def _copy_writable(source: Path, dest: Path) -> None:
    """Copy a tree out of Go's read-only module cache so that the copy can be removed."""
    shutil.copytree(source, dest, copy_function=shutil.copyfile)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _build(tool_set: str, target: Path, log: Path) -> float:
    versions = required_versions(tool_set)
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(
            [
                go(),
                "build",
                "-trimpath",
                "-ldflags",
                _ldflags(versions),
                "-o",
                str(target / "bin") + "/",
                "tool",
            ],  # fmt: skip
            cwd=module_dir(tool_set),
            env=_go_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if proc.returncode != 0:
        tail = log.read_text()[-3000:]
        raise BuildError(f"building {tool_set} ({versions}) failed, log {log}:\n{tail}")
    for built, name in RENAMES.items():
        if (target / "bin" / built).exists():
            (target / "bin" / built).rename(target / "bin" / name)
    _copy_files(tool_set, target / "files")
    return time.monotonic() - started


def _prune(root: Path, tool_set: str, keep: str) -> None:
    """Remove the tool set's older builds: a changed key never comes back by itself.

    A running binary of a removed build keeps working (its inode stays open).
    """
    for old in root.glob(f"{tool_set}-*"):
        if old.name in (keep, f"{keep}.lock") or ".partial-" in old.name:
            continue
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def ensure_built(tool_set: str = "apiserver") -> Build:
    """The cached build of `tool_set`, building it first if no caller has yet."""
    root = cache_root()
    key = cache_key(tool_set)
    directory = root / key
    stamp = directory / "build.json"
    if not stamp.exists():
        root.mkdir(parents=True, exist_ok=True)
        with exclusive(root / f"{key}.lock", f"building {tool_set}"):
            if not stamp.exists():  # another process may have built it while we waited
                staging = root / f"{key}.partial-{os.getpid()}"
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir()
                print(
                    f"building {tool_set} into {directory} (log: {staging}/build.log)",
                    file=sys.stderr,
                )
                seconds = _build(tool_set, staging, staging / "build.log")
                record = {
                    "versions": required_versions(tool_set),
                    "go": go_version(),
                    "seconds": round(seconds, 1),
                }
                (staging / "build.json").write_text(json.dumps(record, indent=2) + "\n")
                shutil.rmtree(directory, ignore_errors=True)
                staging.rename(directory)
                _prune(root, tool_set, keep=key)
                return Build(directory, record["versions"], seconds, reused=False)
    record = json.loads(stamp.read_text())
    return Build(directory, record["versions"], record["seconds"], reused=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.servers.kube_binaries",
        description="Build (or reuse from the cache) the Kubernetes binaries the tests run.",
    )
    # No argparse `choices`: Python 3.11 checks an empty nargs="*" list against them.
    parser.add_argument("tool_sets", nargs="*", help=f"of {', '.join(TOOL_SETS)}; default: all")
    args = parser.parse_args(argv)
    unknown = [t for t in args.tool_sets if t not in TOOL_SETS]
    if unknown:
        parser.error(f"unknown tool set {unknown[0]!r}: choose from {', '.join(TOOL_SETS)}")
    try:
        for tool_set in args.tool_sets or TOOL_SETS:
            started = time.monotonic()
            build = ensure_built(tool_set)
            how = "reused" if build.reused else "built"
            versions = ", ".join(f"{m} {v}" for m, v in build.versions.items())
            print(
                f"{tool_set}: {how} in {time.monotonic() - started:.1f} s "
                f"({versions}; first build took {build.seconds:.0f} s) -> {build.directory}"
            )
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
