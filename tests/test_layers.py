"""The import layers in pyproject.toml's [tool.importlinter], as `make lint` runs them.

One test checks the real tree. The others build a small synthetic tree with the
same packages and layers, check that it passes clean, then add one wrong-way
import and check that lint-imports fails and names the contract and the module:
that shows the contract, not the shape of the tree, catches the import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The console script of the import-linter package, installed next to this Python.
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the packages under `root` with `root`/pyproject.toml."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=root,
        # grimp finds the root packages on the import path: these, not the repo's.
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def contract(name: str) -> dict:
    return next(c for c in CONFIG["contracts"] if c["name"] == name)


TOP = "Top-level layers: the CLI over the Kubeflow side over the library"
LIBRARY = "Library layers"
NO_KUBEFLOW = "The library imports no Kubeflow"
NO_SUPPORT = "The shipped packages import no test or bench support"
NO_CIRCLES = "No import circles among sibling modules"


def test_the_real_tree_keeps_its_layers():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def _write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The root packages and library layers the contracts name, each importing
    the one below it (the allowed direction), plus a copy of the real config."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    # "cli | controller": independent siblings in one layer, each importing the next.
    top = [[m.strip() for m in layer.split("|")] for layer in contract(TOP)["layers"]]
    for upper, lower in zip(top, [*top[1:], []], strict=True):
        for module in upper:
            imports = "".join(f"import {m}\n" for m in lower)
            _write(tmp_path / module / "__init__.py", imports)
    _write(tmp_path / "pipelines" / "compile.py", "import components\n")
    # The Kubeflow side may import kfp.
    _write(tmp_path / "components" / "step.py", "import kfp\nimport glov.runs\n")

    (container,) = contract(LIBRARY)["containers"]
    layers = [[m.strip() for m in layer.split("|")] for layer in contract(LIBRARY)["layers"]]
    for upper, lower in zip(layers, [*layers[1:], []], strict=True):
        for module in upper:
            imports = "".join(f"import {container}.{m}\n" for m in lower)
            # Single-file siblings in the real tree stay single files here.
            if module in ("errors", "templates"):
                _write(tmp_path / container / f"{module}.py", imports)
            else:
                _write(tmp_path / container / module / "__init__.py", imports)
    return tmp_path


def test_the_synthetic_tree_passes_clean(tree: Path):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in (TOP, LIBRARY, NO_KUBEFLOW, NO_SUPPORT, NO_CIRCLES):
        assert f"{name} KEPT" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken", "chain"),
    [
        # The library reaching up into the Kubeflow side.
        (
            "glov/errors.py",
            "import pipelines.compile  # wrong way",
            TOP,
            "glov.errors -> pipelines",
        ),
        # The Kubeflow side reaching up into the CLI.
        ("components/step.py", "import cli  # wrong way", TOP, "components.step -> cli"),
        # The operator and the CLI are siblings: neither imports the other.
        ("controller/__init__.py", "import cli  # wrong way", TOP, "controller -> cli"),
        # A lower library layer importing a higher one.
        (
            "glov/store/__init__.py",
            "import glov.search  # wrong way",
            LIBRARY,
            "glov.store -> glov.search",
        ),
        # Independent siblings importing each other.
        ("glov/llm/__init__.py", "import glov.vlm  # wrong way", LIBRARY, "glov.llm -> glov.vlm"),
        # The library importing Kubeflow.
        ("glov/templates.py", "import kfp  # wrong way", NO_KUBEFLOW, "glov.templates -> kfp"),
        # The library or the Kubeflow side using the random-weight builders or test helpers.
        (
            "glov/vlm/__init__.py",
            "import bench.random_models  # wrong way",
            NO_SUPPORT,
            "glov.vlm -> bench",
        ),
        (
            "components/step.py",
            "import tests.tiny_run  # wrong way",
            NO_SUPPORT,
            "components.step -> tests",
        ),
    ],
)
def test_a_wrong_way_import_fails_the_check(tree: Path, module, line, broken, chain):
    with (tree / module).open("a") as f:
        f.write(line + "\n")
    result = lint_imports(tree)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"{broken} BROKEN" in output
    # A wrong-way import between library layers also closes a circle with the
    # right-way import beside it, so the circle contract may break too.
    assert ", 1 broken." in output or f"{NO_CIRCLES} BROKEN" in output
    assert chain in output


def test_an_import_circle_between_siblings_fails_the_check(tree: Path):
    """The shape the VLM package once had: the scorer imports the weights it can
    load, and building those weights imported the scorer back for a model name."""
    _write(tree / "glov" / "vlm" / "clip.py", "import glov.vlm.training\n")
    _write(tree / "glov" / "vlm" / "model_names.py")
    _write(tree / "glov" / "vlm" / "training" / "__init__.py", "import glov.vlm.training.build\n")
    build = tree / "glov" / "vlm" / "training" / "build.py"
    _write(build, "import glov.vlm.model_names\n")
    assert lint_imports(tree).returncode == 0  # the names below both: no circle

    _write(build, "import glov.vlm.clip  # back up to the scorer\n")
    result = lint_imports(tree)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"{NO_CIRCLES} BROKEN" in output
    assert f"Contracts: {len(CONFIG['contracts']) - 1} kept, 1 broken." in output
    assert "No cycles are allowed in glov.vlm." in output
    assert ".training -> .clip" in output
