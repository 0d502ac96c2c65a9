"""What every refused command must show, and a way to prove nothing stored changed.

`error_paragraphs(stderr)` checks the error output is paragraphs of exactly
`error: <problem>` then `  fix: <fix>`, one line each, with no traceback, and
returns them. `tree_digest(root)` hashes every file, directory and link under a
folder, so a test compares the store before and after a refused command.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def error_paragraphs(err: str) -> list[tuple[str, str]]:
    """The (problem, fix) pairs of stderr; fails on a traceback or a broken paragraph."""
    assert "Traceback" not in err, err
    lines = err.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("error: ")), None)
    assert start is not None, f"no `error:` line in:\n{err}"
    tail = lines[start:]
    assert len(tail) % 2 == 0, f"an error paragraph is not `error:` + `fix:`:\n{err}"
    pairs = list(zip(tail[0::2], tail[1::2], strict=True))
    for problem, fix in pairs:
        assert problem.startswith("error: ") and len(problem) > len("error: "), err
        assert fix.startswith("  fix: ") and len(fix) > len("  fix: "), err
    return [(p.removeprefix("error: "), f.removeprefix("  fix: ")) for p, f in pairs]


def one_paragraph(err: str) -> tuple[str, str]:
    """The single (problem, fix) paragraph of stderr."""
    pairs = error_paragraphs(err)
    assert len(pairs) == 1, err
    return pairs[0]


def tree_digest(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Relative path -> content digest (files), target (links) or "dir", links not followed."""
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        rel_folder = Path(folder).relative_to(root)
        dirs[:] = [d for d in dirs if str(rel_folder / d) not in skip]
        for name in dirs + files:
            path = Path(folder) / name
            rel = str(rel_folder / name)
            if path.is_symlink():
                out[rel] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
