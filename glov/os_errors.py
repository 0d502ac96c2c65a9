"""The file system refusing an operation, as one problem and one fix.

One mapping for every command: an OSError whose errno says the environment is
at fault (something in the way, a directory where a file belongs, permissions,
a read-only or full disk, a name too long, a link loop) becomes a GlovError
whose fix names the option or setting the path came from (`-o`, `--run-dir`,
`store.uri`, ...). Any other OSError is a bug to fix and is not translated.

`check_creatable` raises, before anything is written, the OSError that creating
a path would raise later, so a refused output leaves nothing behind and reads
the same as a failure mid-run.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Literal

from glov.errors import GlovError

# errno -> (problem, fix); {path} is the file, {other} "another path for <option>".
# EEXIST and ENOTDIR name the part in the way instead (_in_the_way).
_MAPPING: dict[int, tuple[str, str]] = {
    errno.EISDIR: (
        "{path} is a directory, where a file is needed",
        "choose {other} that names a file (not a directory)",
    ),
    errno.EACCES: (
        "permission denied on {path}",
        "choose {other} that this user may write, or change the permissions of {path}",
    ),
    errno.EROFS: (
        "{path} is on a read-only file system",
        "choose {other} on a writable file system",
    ),
    errno.ENOSPC: (
        "no space left on the device that holds {path}",
        "free space on that disk, or choose {other} on another disk",
    ),
    errno.ENAMETOOLONG: (
        "a name in {path} is too long for the file system",
        "choose {other} with shorter names (file names up to 255 bytes)",
    ),
    errno.ELOOP: (
        "{path} goes through too many symbolic links (a link that points back at itself?)",
        "fix or remove the symbolic link, or choose {other}",
    ),
    errno.EMLINK: (
        "the directory of {path} has too many links (entries or hard links)",
        "choose {other}, or clean up that directory",
    ),
}
_MAPPING[errno.EPERM] = _MAPPING[errno.EACCES]
_MAPPING[errno.EDQUOT] = (
    "the disk quota is used up on the device that holds {path}",
    "free space within the quota, or choose {other} on another disk",
)

Kind = Literal["file", "dir"]


def _local(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path.removeprefix("file://")))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def origin_of(filename: str | None, origins: Iterable[tuple[str, str]]) -> str | None:
    """Which option or setting `filename` came from, given (option, path) pairs.

    The deepest path that holds the file wins (a run directory under store.uri
    under the working directory); else the options whose paths lie under the
    file (the error is on a parent, e.g. a file in the way of `-o a/b.yaml`).
    """
    if not filename:
        return None
    name = _local(str(filename))
    local = [(opt, _local(p)) for opt, p in origins if p and "://" not in p.removeprefix("file://")]
    holding = [(len(p), opt) for opt, p in local if _under(name, p)]
    if holding:
        return max(holding)[1]
    below = sorted({opt for opt, p in local if _under(p, name)})
    return " or ".join(below) or None


def _blocking_part(path: Path) -> Path | None:
    """The first existing part of `path` that is not a directory, if any."""
    for part in [*reversed(path.parents), path]:
        if os.path.lexists(part) and not os.path.isdir(part):
            return part
    return None


def _in_the_way(path: Path, other: str) -> GlovError:
    """EEXIST / ENOTDIR: a file where a directory is needed, or something not to replace."""
    block = _blocking_part(path)
    if block is None:
        problem = f"{path} already exists and must not be replaced"
    elif block == path:
        problem = f"{path} is a file, where a directory is needed"
    else:
        problem = f"{block} is a file, not a directory, so {path} cannot be created under it"
    return GlovError(problem, f"choose {other}, or move {block or path} out of the way")


def explain(exc: OSError, option: str | None = None) -> GlovError | None:
    """The problem and fix of an OSError the user can fix; None for any other errno."""
    other = f"another path for {option}" if option else "another path"
    path = Path(str(exc.filename)) if exc.filename else Path("?")
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        return _in_the_way(path, other)
    texts = _MAPPING.get(exc.errno or 0)
    if texts is None:
        return None
    problem, fix = (t.format(path=path, other=other) for t in texts)
    return GlovError(problem, fix)


@contextmanager
def parents_made_for(path: Path) -> Iterator[None]:
    """Create `path`'s missing parent directories; remove them again if the block fails,
    so a write refused halfway leaves no empty folders behind."""
    missing = [p for p in path.parents if not os.path.lexists(p)]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for folder in missing:  # deepest first; one that is no longer empty stays
            with suppress(OSError):
                folder.rmdir()
        raise


def refusal(exc: OSError, option: str) -> Exception:
    """What to raise for `exc` met on a path from `option`: the mapped error, else `exc`."""
    return explain(exc, option) or exc


def _refuse(code: int, path: Path) -> OSError:
    return OSError(code, os.strerror(code), str(path))


def check_creatable(path: str | Path, kind: Kind) -> None:
    """Raise the OSError that creating `path` (a file or a directory) would raise.

    Walks the path's parts: each existing one must be a directory, the names must
    fit the file system, and the deepest existing directory must be writable on
    a writable file system with space left. An existing `path` must be of `kind`.
    Nothing is created.
    """
    path = Path(path).expanduser().absolute()
    if len(os.fsencode(path)) >= 4096:
        raise _refuse(errno.ENAMETOOLONG, path)
    existing = Path(path.anchor)
    for part in [*reversed(path.parents), path][1:]:
        try:
            os.stat(part)  # follows links: a link loop raises ELOOP here
        except FileNotFoundError:
            break
        if part != path and not os.path.isdir(part):
            raise _refuse(errno.ENOTDIR, path)
        existing = part
    name_max = os.pathconf(existing if existing.is_dir() else existing.parent, "PC_NAME_MAX")
    if any(len(os.fsencode(p.name)) > name_max for p in [path, *path.parents]):
        raise _refuse(errno.ENAMETOOLONG, path)
    if existing == path:
        if kind == "file" and path.is_dir():
            raise _refuse(errno.EISDIR, path)
        if kind == "dir" and not path.is_dir():
            raise _refuse(errno.ENOTDIR, path)
    directory = existing if existing.is_dir() else existing.parent
    target = path if existing == path else directory
    if not os.access(target, os.W_OK | (os.X_OK if target.is_dir() else 0)):
        read_only = os.statvfs(directory).f_flag & os.ST_RDONLY
        raise _refuse(errno.EROFS if read_only else errno.EACCES, target)
    if os.statvfs(directory).f_bavail == 0:
        raise _refuse(errno.ENOSPC, directory)
