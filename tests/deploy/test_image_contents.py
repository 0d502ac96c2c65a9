"""What reaches the images: the wheel's packages are copied, nothing else is sent.

The images hold only what the Dockerfiles COPY; a pod has only the wheel, never
the checkout. These tests tie the COPY lines, the .dockerignore allowlists and
pyproject's wheel packages together.
"""

from __future__ import annotations

import ast

import pytest
from deploy_helpers import ROOT
from dockerfile_helpers import (
    DOCKERFILES,
    PYPROJECT,
    WHEEL_PACKAGES,
    Instr,
    copies,
    ignore_patterns,
    ignored,
    parse,
)


@pytest.fixture(scope="module")
def files() -> dict[str, list[Instr]]:
    return {kind: parse(path) for kind, path in DOCKERFILES.items()}


def test_dockerignore_allows_exactly_what_is_copied(files):
    for kind, instrs in files.items():
        patterns = ignore_patterns(kind)
        assert patterns[0] == "*", "allowlist: start by ignoring everything"
        allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
        sources = {src for srcs, _ in copies(instrs) for src in srcs}
        assert allowed == sources, f"{kind}: allowlist {allowed} vs COPY sources {sources}"
        # What sits in a checkout beside the source stays out of the context.
        for path in (
            ".venv/bin/python",
            ".env",
            "runs/r1/log.jsonl",
            ".git/config",
            ".cache/glov/x.npy",
            "tests/deploy/test_dockerfiles.py",
            "manifests/base/kustomization.yaml",
        ):
            assert ignored(patterns, path), f"{kind}: {path} would be sent to the builder"
        for path in ("pyproject.toml", "uv.lock", "README.md"):
            assert not ignored(patterns, path), f"{kind}: {path} would be missing"


def test_wheel_packages_exist_and_hold_the_console_scripts():
    """The list the image checks below derive from is the real one."""
    assert "glov" in WHEEL_PACKAGES
    for package in WHEEL_PACKAGES:
        assert "/" not in package and (ROOT / package).is_dir(), f"{package}: no such folder"
        assert any((ROOT / package).rglob("*.py")), f"{package}: no Python sources"
    scripts = PYPROJECT["project"]["scripts"]
    assert scripts["glov"] == "cli.main:main"
    for name, target in scripts.items():
        module = target.split(":")[0]
        assert module.split(".")[0] in WHEEL_PACKAGES, f"console script {name}: {target}"
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), f"{name}: {target}"


@pytest.mark.parametrize("package", WHEEL_PACKAGES)
def test_every_wheel_package_is_copied_and_let_through(files, package):
    for kind, instrs in files.items():
        # One COPY per folder, keeping its name: `COPY a b ./` would copy the
        # folders' contents, not the folders, into ./.
        dests = [dest for srcs, dest in copies(instrs) if package in srcs and srcs == [package]]
        assert dests, f"Dockerfile.{kind} does not `COPY {package} ./{package}`"
        assert all(d.removeprefix("./").rstrip("/") == package for d in dests), (kind, dests)
        patterns = ignore_patterns(kind)
        assert f"!{package}/" in patterns or f"!{package}" in patterns, (kind, package)
        # Every source file of the checkout (Python and data: profiles, model
        # configs) reaches the builder ...
        shipped = [
            f.relative_to(ROOT).as_posix()
            for f in (ROOT / package).rglob("*")
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"
        ]
        assert shipped
        for path in shipped:
            assert not ignored(patterns, path), f"{kind}: {path} would be missing"
        # ... but bytecode left over from local runs does not, at any depth.
        for path in (
            f"{package}/__pycache__",
            f"{package}/sub/__pycache__",
            f"{package}/__pycache__/x.cpython-311.pyc",
            f"{package}/sub/__pycache__/y.cpython-311.pyc",
            f"{package}/sub/stale.pyc",
        ):
            assert ignored(patterns, path), f"{kind}: {path} would be sent to the builder"


def test_shipped_code_imports_no_first_party_code_left_out_of_the_image():
    """Tests import from the checkout (the repo root is on sys.path); a pod has
    only the wheel. Any top-level folder or module of the repo that shipped code
    imports, even lazily inside a component body, must be a wheel package."""
    first_party = {
        p.stem if p.suffix == ".py" else p.name
        for p in ROOT.iterdir()
        if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".py")
    }
    missing: dict[str, set[str]] = {}
    for package in WHEEL_PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(), str(source))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in first_party and top not in WHEEL_PACKAGES:
                        missing.setdefault(top, set()).add(source.relative_to(ROOT).as_posix())
    assert not missing, f"imported by shipped code but not in the wheel/images: {missing}"


# What the CPU image runs: its components and their tasks (torch is not installed there).
CPU_MODULES = (
    "components.data_prep",
    "components.seed_template",
    "components.rank",
    "components.rank_shards",
    "components.final_plan",
    "components.final_report",
    "components.tasks.prepare",
    "components.tasks.steps",
    "components.tasks.shards",
    "cli.main",
)
_BLOCK_TORCH = """
import importlib, importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"torch", "torchvision", "transformers", "open_clip"}:
            raise ImportError(f"{name} is not in the CPU image")
sys.meta_path.insert(0, Block())
for module in sys.argv[1:]:
    importlib.import_module(module)
"""


def test_cpu_steps_import_without_torch():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _BLOCK_TORCH, *CPU_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # The blocker works: a module that needs torch fails under it.
    bad = subprocess.run(
        [sys.executable, "-c", _BLOCK_TORCH, "glov.vlm.clip"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "not in the CPU image" in bad.stderr


def test_no_package_source_is_ignored_by_git():
    """A .gitignore pattern (say `runs/`) must not hide a package's sources from
    commits: the checkout would work here and fail in a fresh clone."""
    import subprocess

    result = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", *WHEEL_PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        pytest.skip(f"not a git checkout: {result.stderr.strip()}")
    hidden = [
        path
        for path in result.stdout.splitlines()
        if "__pycache__" not in path and not path.endswith(".pyc")
    ]
    assert not hidden, f"ignored by git, so never committed: {hidden}"
