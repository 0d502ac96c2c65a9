"""Reading the Dockerfiles and their .dockerignore allowlists (shared by the image tests)."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from deploy_helpers import IMAGES, ROOT

DOCKERFILES = {"gpu": IMAGES / "Dockerfile.gpu", "cpu": IMAGES / "Dockerfile.cpu"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The source folders the wheel is built from: what both images must COPY and
# both .dockerignore allowlists must let through.
WHEEL_PACKAGES: list[str] = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]


@dataclass
class Instr:
    stage: int  # -1 before the first FROM
    op: str
    args: str


def parse(path: Path) -> list[Instr]:
    """Instructions with line continuations joined and comments dropped."""
    out: list[Instr] = []
    stage = -1
    buf = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        full = (buf + line).strip()
        buf = ""
        op, _, args = full.partition(" ")
        op = op.upper()
        if op == "FROM":
            stage += 1
        out.append(Instr(stage, op, args.strip()))
    return out


def arg_default(instrs: list[Instr], name: str) -> str:
    values = [
        i.args.split("=", 1)[1] for i in instrs if i.op == "ARG" and i.args.startswith(f"{name}=")
    ]
    assert len(values) == 1, f"expected one `ARG {name}=...` default, found {values}"
    return values[0]


def uv_syncs(instrs: list[Instr]) -> list[list[str]]:
    """Argument lists of every `uv sync` (after `uv sync`) in RUN instructions."""
    found = []
    for i in instrs:
        if i.op != "RUN" or "uv sync" not in i.args:
            continue
        words = shlex.split(i.args)
        starts = [n for n in range(len(words) - 1) if words[n : n + 2] == ["uv", "sync"]]
        for n in starts:
            rest = words[n + 2 :]
            ends = [k for k, w in enumerate(rest) if w in {"&&", ";", "||"}]
            found.append(rest[: ends[0]] if ends else rest)
    return found


def copies(instrs: list[Instr]) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY from the build context."""
    out = []
    for i in instrs:
        if i.op == "COPY" and not i.args.startswith("--from"):
            *sources, dest = i.args.split()
            out.append((sources, dest))
    return out


def ignore_patterns(kind: str) -> list[str]:
    ignore = DOCKERFILES[kind].with_name(DOCKERFILES[kind].name + ".dockerignore")
    assert ignore.is_file(), f"{ignore} missing: the whole checkout would be sent"
    return [
        p.strip() for p in ignore.read_text().splitlines() if p.strip() and not p.startswith("#")
    ]


def excluded(args: list[str]) -> list[str]:
    return [args[n + 1] for n, a in enumerate(args) if a == "--no-install-package"]


def ignored(patterns: list[str], path: str) -> bool:
    """.dockerignore semantics: the last matching pattern wins; a match on a
    parent directory covers everything below it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        regex = re.escape(pat).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, p) for p in prefixes):
            ignored = not negate
    return ignored
