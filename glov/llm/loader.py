"""Load the optimizer LLM from a package, a GGUF file, a local directory or the HF hub.

GGUF files are dequantised by transformers, which takes tens of seconds, so the
result is converted once to safetensors under
`cache_dir/llm/<sha256[:16] of the file>/` and every later load reads that
directory (about a second for SmolLM2-135M). The cache key is the file content,
so a renamed or re-downloaded file reuses its conversion and a changed file
never reads a stale one. A run whose store is remote fetches the conversion
from its model share instead of converting again (glov.store.model_share).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from glov.config import LLMConfig
from glov.digests import sha256_file
from glov.errors import ModelError
from glov.hf import hub_error, pick_device, pick_dtype, prepare_batched_decoding
from glov.llm.source import PKG_PREFIX, check_gguf, check_local_source, packaged_gguf
from glov.llm.split_gguf import SPLIT_PACKAGED, assemble
from glov.store.model_share import ModelShare, obtain


@dataclass
class LoadedLLM:
    model: Any  # a transformers PreTrainedModel (decoder-only, in eval mode)
    tokenizer: Any  # its tokenizer, padding on the left
    name: str  # what the user asked for (cfg.model)
    device: str
    dtype: torch.dtype
    num_layers: int

    @property
    def pad_token_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    @property
    def eos_token_ids(self) -> list[int]:
        """Every id that ends an answer (chat models often have several, e.g. Llama-3)."""
        eos = self.model.generation_config.eos_token_id
        return [int(e) for e in (eos if isinstance(eos, list) else [eos])]


def _convert_gguf(gguf: Path, dest: Path, trust_remote_code: bool) -> None:
    """Dequantise a GGUF file into a safetensors model directory `dest` (empty, existing)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    try:
        kwargs = dict(gguf_file=gguf.name, trust_remote_code=trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
        # dequantize=True: we want a plain dense model that save_pretrained accepts,
        # even where a GGUF matmul kernel would let transformers keep the blocks packed.
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, quantization_config=GgufConfig(dequantize=True), **kwargs
        )
    except Exception as exc:  # transformers raises many types for unsupported files
        raise ModelError(
            f"transformers cannot load the GGUF file {gguf}: {exc}",
            "use a GGUF of an architecture transformers supports (e.g. llama), "
            "or a safetensors model directory",
        ) from exc
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)


def gguf_cache_dir(gguf: Path, cache_dir: str | Path, digest: str | None = None) -> Path:
    return Path(cache_dir).expanduser() / _gguf_key(digest or sha256_file(gguf))


def _gguf_key(digest: str) -> str:
    """Where a conversion lives, relative to the cache and to the model share."""
    return f"llm/{digest[:16]}"


def _converted(
    gguf: Callable[[], Path],
    digest: str,
    source: str,
    cache_dir: str | Path,
    trust_remote_code: bool,
    share: ModelShare | None,
) -> Path:
    """The conversion of the GGUF file `gguf()` (content `digest`): from the cache or
    the share, else converted here once (`gguf` is only called then)."""
    key = _gguf_key(digest)

    def convert(dest: Path) -> None:
        path = gguf()
        check_gguf(path)
        _convert_gguf(path, dest, trust_remote_code)

    return obtain(
        Path(cache_dir).expanduser() / key,
        key=key,
        what=f"LLM conversion of {source}",
        ready="config.json",
        build=convert,
        share=share,
    )


def _cached_gguf(
    gguf: Path,
    cache_dir: str | Path,
    trust_remote_code: bool,
    share: ModelShare | None = None,
    source: str | None = None,
) -> Path:
    check_gguf(gguf)
    digest = sha256_file(gguf)
    return _converted(
        lambda: gguf, digest, source or str(gguf), cache_dir, trust_remote_code, share
    )


def _hub_error(repo_id: str, exc: Exception) -> ModelError:
    return hub_error("LLM", "llm.model", repo_id, exc)


def _resolve_source(
    cfg: LLMConfig, cache_dir: str | Path, share: ModelShare | None = None
) -> tuple[str, bool]:
    """Return (a local model directory or hub id, whether it is a hub id).

    A GGUF source is converted once per content (glov.store.model_share: from
    the cache, the run's model share, or converted here).
    """
    source = cfg.model.strip()
    trc = cfg.trust_remote_code
    if source.startswith(PKG_PREFIX) and source[len(PKG_PREFIX) :] in SPLIT_PACKAGED:
        name = source[len(PKG_PREFIX) :]
        split = SPLIT_PACKAGED[name]
        # The digest is pinned: a finished conversion is found without assembling
        # (or hashing) the 491 MB file again.
        gguf = partial(assemble, split, name, cache_dir)
        return str(_converted(gguf, split.sha256, source, cache_dir, trc, share)), False
    if source.startswith(PKG_PREFIX):
        gguf = packaged_gguf(source[len(PKG_PREFIX) :])
        return str(_cached_gguf(gguf, cache_dir, trc, share, source)), False
    local = check_local_source(cfg)
    if local is not None and local.suffix == ".gguf":
        return str(_cached_gguf(local, cache_dir, trc, share)), False
    if local is not None:
        return str(local), False
    if cfg.gguf_file:
        # A GGUF inside a hub repository: fetch the one file, then convert it as above.
        try:
            from huggingface_hub import hf_hub_download

            gguf = Path(hf_hub_download(source, cfg.gguf_file))
        except Exception as exc:
            raise _hub_error(source, exc) from exc
        return str(_cached_gguf(gguf, cache_dir, trc, share, f"{source}/{cfg.gguf_file}")), False
    return source, True


def _from_pretrained(
    source: str, is_hub: bool, cfg: LLMConfig, dtype: torch.dtype, device: torch.device
):
    from huggingface_hub import constants
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = dict(trust_remote_code=cfg.trust_remote_code)
    model_kwargs: dict[str, Any] = dict(dtype=dtype)
    if device.type != "cpu":
        # Place weights straight on the accelerator instead of staging them in host RAM.
        model_kwargs["device_map"] = {"": str(device)}

    def load(local_only: bool):
        tok = AutoTokenizer.from_pretrained(source, local_files_only=local_only, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            source, local_files_only=local_only, **kwargs, **model_kwargs
        )
        return model, tok

    if not is_hub:
        try:
            return load(True)
        except Exception as exc:
            raise ModelError(
                f"cannot load the LLM from {source}: {exc}",
                "point llm.model at a complete causal-LM directory "
                "(config.json, weights, tokenizer)",
            ) from exc
    # Try the local HF cache first: no network round trips (and retries) when the
    # model is already there, which is the normal case on an offline cluster.
    try:
        return load(True)
    except Exception as exc:
        if constants.HF_HUB_OFFLINE:
            raise _hub_error(source, exc) from exc
    try:
        return load(False)
    except Exception as exc:
        raise _hub_error(source, exc) from exc


def prepare_llm(model: Any, tokenizer: Any, name: str) -> LoadedLLM:
    """Put a model + tokenizer into the state sampling relies on: eval mode and
    glov.hf.prepare_batched_decoding (left padding, a pad token, only the
    special-token ids in generation_config: sampling settings come from LLMConfig)."""
    model.eval()
    prepare_batched_decoding(model, tokenizer)
    config = model.config.get_text_config()
    param = next(model.parameters())
    return LoadedLLM(
        model=model,
        tokenizer=tokenizer,
        name=name,
        device=str(param.device),
        dtype=param.dtype,
        num_layers=int(config.num_hidden_layers),
    )


def is_gguf(cfg: LLMConfig) -> bool:
    """Whether cfg.model names a GGUF file (converted before it loads) or a ready model."""
    source = cfg.model.strip()
    return source.startswith(PKG_PREFIX) or source.endswith(".gguf") or bool(cfg.gguf_file)


def converted_llm(cfg: LLMConfig, cache_dir: str | Path, share: ModelShare | None) -> Path | None:
    """The conversion of a GGUF LLM, made if missing; None if cfg.model is no GGUF."""
    return Path(_resolve_source(cfg, cache_dir, share)[0]) if is_gguf(cfg) else None


def load_llm(cfg: LLMConfig, cache_dir: str | Path, share: ModelShare | None = None) -> LoadedLLM:
    """Load the LLM that cfg.model names (see the module docstring for the sources).

    `share`: the run's model share, where a GGUF conversion is looked up before
    converting (and published after).
    """
    device = pick_device(cfg.device, "llm.device")
    dtype = pick_dtype(cfg.dtype, device)
    source, is_hub = _resolve_source(cfg, cache_dir, share)
    model, tokenizer = _from_pretrained(source, is_hub, cfg, dtype, device)
    if device.type == "cpu":
        model.to(device)
    return prepare_llm(model, tokenizer, cfg.model)
