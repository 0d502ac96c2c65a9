"""The documentation a newcomer walks: a short README, docs/ for depth, links that resolve.

README.md stays short (what it is, the two commands, the concepts, the whole
CLI, links); depth lives in docs/. Every relative link of the README and
docs/ names a file in the repository and, with `#anchor`, a heading in it.
Nothing points outside the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250
DOC_PAGES = ("method", "kubeflow", "deploy", "metrics", "benchmarks", "architecture")
# Assembled so that this file does not hold the strings it looks for.
OUTSIDE = ("GLOV" + ".md", ".." + "/shared")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    lines = page.read_text().splitlines()
    in_code = False
    out = set()
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            out.add(_anchor(line.lstrip("#")))
    return out


def test_readme_is_short_and_docs_exist():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"
    for page in DOC_PAGES:
        assert (ROOT / "docs" / f"{page}.md").is_file(), page


def test_readme_lists_every_command():
    from cli.main import build_parser

    readme = (ROOT / "README.md").read_text()
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for command in sub.choices:
        assert f"glov {command}" in readme, command


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_links_resolve(page: Path):
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.is_file(), f"{page.name}: {target} names no file"
        assert ROOT in dest.parents, f"{page.name}: {target} leaves the repository"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{page.name}: no heading for #{anchor}"


def test_nothing_points_outside_the_repository():
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    hits = []
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.suffix in {".png", ".lock"}:
            continue
        text = path.read_text(errors="replace")
        hits += [f"{name}: {needle}" for needle in OUTSIDE if needle in text]
    assert not hits, hits
