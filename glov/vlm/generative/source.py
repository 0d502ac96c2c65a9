"""Where a generative VLM's files are, and what identifies their content.

`vlm.model` is an HF hub id or a local directory (s3:// URIs are downloaded to a
local directory before the scorer sees them, glov.runs.inputs). A hub id is
resolved to its local snapshot, from the HF cache first (offline clusters),
so both kinds end as a directory whose files are digested into the model's
identity: answers are cached under it, and an edited or re-downloaded model
never reads a stale answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from glov.digests import sha256_file
from glov.errors import ModelError
from glov.file_syntax import read_json_file
from glov.hf import hub_error

log = logging.getLogger(__name__)

# Per-file digests memoised on disk: hashing 15 GB of weights takes tens of seconds.
_MEMO = "file-digests.json"


def local_model_dir(source: str) -> Path:
    """A local directory holding the model named by `source` (a directory or HF id)."""
    if source.strip().startswith("s3://"):
        raise ModelError(
            f"vlm.model {source} is an s3:// URI that was not downloaded first",
            "run through `glov run` (it fetches s3:// inputs), or download the directory "
            "and set vlm.model to it",
        )
    return check_local_model(source) or _hub_snapshot(source.strip())


def check_local_model(source: str) -> Path | None:
    """The model directory `source` names, checked without loading; None for an HF id.

    A run calls this before it creates anything, so a typo in a local path is
    refused before the run directory exists.
    """
    source = source.strip()
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(
                f"{path} is not a model directory: it has no config.json",
                "point vlm.model at a directory written by save_pretrained",
            )
        # transformers would name a broken config.json only once the run exists
        fix = "repair config.json, or point vlm.model at a model saved with save_pretrained"
        read_json_file(path / "config.json", fix, ModelError)
        return path
    if path.exists() or source.startswith(("/", "./", "../", "~")) or source.count("/") > 1:
        raise ModelError(
            f"VLM path {source!r} does not exist or is not a directory",
            "set vlm.model to a model directory, an HF id or an s3:// prefix",
        )
    return None


def _hub_snapshot(repo_id: str) -> Path:
    from huggingface_hub import constants, snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception as exc:  # not in the local HF cache (many error types)
        if constants.HF_HUB_OFFLINE:
            raise _hub_error(repo_id, exc) from exc
    try:
        return Path(snapshot_download(repo_id))
    except Exception as exc:
        raise _hub_error(repo_id, exc) from exc


def _hub_error(repo_id: str, exc: Exception) -> ModelError:
    return hub_error("VLM", "vlm.model", repo_id, exc)


def model_digest(model_dir: Path, memo_dir: Path) -> str:
    """sha256 over every file of the directory (relative name and content digest)."""
    memo_path = memo_dir / _MEMO
    try:
        memo: dict[str, str] = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    h = hashlib.sha256()
    changed = False
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(model_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue  # hub download metadata, lock files: not model content
        st = path.stat()
        key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
        if key not in memo:
            memo[key] = sha256_file(path)
            changed = True
        h.update(f"{rel.as_posix()}:{memo[key]};".encode())
    if changed:
        _write_memo(memo_path, memo)
    return h.hexdigest()


def _write_memo(path: Path, memo: dict[str, str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache only costs re-hashing next time
        log.warning("cannot write the model digest memo %s: %s", path, exc)
