"""A GGUF split over packages: assembled once, atomically, only when digest and header match."""

import hashlib
import importlib
import importlib.util
import os
from dataclasses import replace
from pathlib import Path

import pytest

from glov.config import LLMConfig
from glov.errors import ModelError
from glov.llm import loader
from glov.llm.split_gguf import SPLIT_PACKAGED, SplitGGUF, assemble, header_strings

QWEN = SPLIT_PACKAGED["qwen2.5-coder-0.5b"]


def gguf_bytes(tmp_path: Path, name: str = "Fake Model 1B") -> bytes:
    """A header-only GGUF written by the gguf library itself (not by our reader's rules)."""
    from gguf import GGUFWriter

    path = tmp_path / "model.gguf"
    writer = GGUFWriter(path, "qwen2")
    # Values of other types before general.name, so the reader must skip them.
    writer.add_uint32("test.count", 7)
    writer.add_array("test.list", ["a", "bc"])
    writer.add_array("test.numbers", [1, 2, 3])
    writer.add_name(name)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    # Payload after the header, as the tensors would be.
    return path.read_bytes() + os.urandom(3000)


def fake_split(tmp_path: Path, monkeypatch, data: bytes, tag: str, parts: int = 3) -> SplitGGUF:
    """`data` cut into `parts` importable packages on sys.path; its true digest pinned."""
    root = tmp_path / "site"
    step = -(-len(data) // parts)
    names = []
    for i in range(parts):
        module = f"fake_{tag}_part{i + 1}"
        (root / module / "data").mkdir(parents=True)
        (root / module / "__init__.py").write_text("")
        (root / module / "data" / "part.bin").write_bytes(data[i * step : (i + 1) * step])
        names.append((module, "data/part.bin"))
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    return replace(
        QWEN,
        parts=tuple(names),
        filename="fake.gguf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        model_name="Fake Model 1B",
    )


def cache_files(cache: Path) -> list[str]:
    """The cache's GGUF files, temporary ones included; the (empty) lock file aside."""
    folder = cache / "llm" / "gguf"
    return sorted(p.name for p in folder.glob("*") if not p.name.endswith(".lock"))


def part_file(split: SplitGGUF, i: int) -> Path:
    module, relative = split.parts[i]
    spec = importlib.util.find_spec(module)
    return Path(next(iter(spec.submodule_search_locations))) / relative


def test_header_reader_finds_strings_after_other_values(tmp_path):
    path = tmp_path / "x.gguf"
    path.write_bytes(gguf_bytes(tmp_path, "Some Name"))
    keys = {"general.architecture", "general.name"}
    assert header_strings(path, keys) == {
        "general.architecture": "qwen2",
        "general.name": "Some Name",
    }


def test_parts_assemble_once_into_the_cache(tmp_path, monkeypatch):
    data = gguf_bytes(tmp_path)
    split = fake_split(tmp_path, monkeypatch, data, "ok")
    cache = tmp_path / "cache"
    path = assemble(split, "fake", cache)
    assert path.read_bytes() == data
    assert path.stat().st_mode & 0o777 == 0o644
    assert cache_files(cache) == [path.name]  # no temporary file left behind
    # A second load trusts the verified file: the parts are not read again.
    for i in range(len(split.parts)):
        part_file(split, i).unlink()
    assert assemble(split, "fake", cache) == path


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap"])
def test_a_damaged_part_set_is_refused_and_leaves_nothing(tmp_path, monkeypatch, damage):
    split = fake_split(tmp_path, monkeypatch, gguf_bytes(tmp_path), f"bad_{damage}")
    last, first = part_file(split, 2), part_file(split, 0)
    if damage == "flip":
        raw = bytearray(last.read_bytes())
        raw[10] ^= 0x01
        last.write_bytes(bytes(raw))
    elif damage == "truncate":
        last.write_bytes(last.read_bytes()[:-1])
    else:
        a, b = first.read_bytes(), last.read_bytes()
        first.write_bytes(b)
        last.write_bytes(a)
    cache = tmp_path / "cache"
    with pytest.raises(ModelError) as info:
        assemble(split, "fake", cache)
    assert "sha256" in info.value.problem and split.sha256 in info.value.problem
    assert "uv sync --group qwen" in info.value.fix
    assert cache_files(cache) == []


def test_a_header_naming_another_model_is_refused(tmp_path, monkeypatch):
    # The digest matches (pinned to these bytes) but the model is not the one expected.
    split = fake_split(tmp_path, monkeypatch, gguf_bytes(tmp_path, "Other Model"), "other")
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match="Other Model"):
        assemble(split, "fake", cache)
    assert cache_files(cache) == []


def test_missing_packages_name_the_install_command(tmp_path, monkeypatch):
    split = replace(QWEN, parts=(("no_such_glov_part_package", "data/part01.bin"),))
    monkeypatch.setitem(SPLIT_PACKAGED, "qwen2.5-coder-0.5b", split)
    cfg = LLMConfig(model="pkg://qwen2.5-coder-0.5b", device="cpu")
    with pytest.raises(ModelError) as info:
        loader.load_llm(cfg, tmp_path)
    assert "no_such_glov_part_package" in info.value.problem
    assert info.value.fix.startswith("uv sync --group qwen")


def test_a_finished_conversion_is_used_without_assembling(tmp_path, monkeypatch):
    converted = tmp_path / "llm" / QWEN.sha256[:16]
    converted.mkdir(parents=True)
    (converted / "config.json").write_text("{}")

    def no_assembly(*args):
        raise AssertionError("assembled although the conversion is cached")

    monkeypatch.setattr(loader, "assemble", no_assembly)
    cfg = LLMConfig(model="pkg://qwen2.5-coder-0.5b", device="cpu")
    assert loader._resolve_source(cfg, tmp_path) == (str(converted), False)


def test_unknown_package_lists_the_split_one(tmp_path):
    with pytest.raises(ModelError) as info:
        loader.load_llm(LLMConfig(model="pkg://nope", device="cpu"), tmp_path)
    assert "pkg://qwen2.5-coder-0.5b" in info.value.fix


@pytest.mark.skipif(
    importlib.util.find_spec(QWEN.parts[0][0]) is None,
    reason="the Qwen GGUF parts are not installed (optional group: uv sync --group qwen)",
)
def test_the_real_parts_assemble_to_the_pinned_digest(tmp_path):
    # assemble() hashes the 491 MB once and raises unless it matches the pin.
    path = assemble(QWEN, "qwen2.5-coder-0.5b", tmp_path)
    try:
        assert path.stat().st_size == QWEN.size == 491_400_064
        assert QWEN.sha256.startswith("1d961463") and QWEN.sha256.endswith("c4ff32")
        keys = {"general.architecture", "general.name"}
        assert header_strings(path, keys) == {
            "general.architecture": "qwen2",
            "general.name": "Qwen2.5 Coder 0.5B Instruct AWQ",
        }
    finally:
        path.unlink()  # pytest keeps old tmp_paths: do not leave 491 MB behind
