"""The Store contract, checked identically over LocalStore and S3Store."""

from __future__ import annotations

import pytest

from glov.store import ObjectExists, Store


def test_write_read_roundtrip(any_store: Store) -> None:
    any_store.write_bytes("a/b/c.bin", b"\x00\x01binary\xff")
    any_store.write_text("t.txt", "héllo\n")
    assert any_store.read_bytes("a/b/c.bin") == b"\x00\x01binary\xff"
    assert any_store.read_text("t.txt") == "héllo\n"


def test_empty_object(any_store: Store) -> None:
    any_store.write_bytes("empty", b"")
    assert any_store.exists("empty")
    assert any_store.read_bytes("empty") == b""


def test_missing_key_is_file_not_found(any_store: Store) -> None:
    with pytest.raises(FileNotFoundError):
        any_store.read_bytes("nope/x.json")
    assert not any_store.exists("nope/x.json")


def test_identical_rewrite_is_noop_different_is_refused(any_store: Store) -> None:
    any_store.write_text("k.json", "{}")
    any_store.write_text("k.json", "{}")  # idempotent retry
    with pytest.raises(ObjectExists):
        any_store.write_text("k.json", '{"a": 1}')
    assert any_store.read_text("k.json") == "{}"
    any_store.write_text("k.json", '{"a": 1}', overwrite=True)
    assert any_store.read_text("k.json") == '{"a": 1}'


def test_list_is_sorted_recursive_and_matches_whole_segments(any_store: Store) -> None:
    for key in ["b/2", "a/x/1", "a/0", "ab/9", "c"]:
        any_store.write_text(key, key)
    assert any_store.list() == ["a/0", "a/x/1", "ab/9", "b/2", "c"]
    assert any_store.list("a") == ["a/0", "a/x/1"]  # not "ab/9"
    assert any_store.list("a/x") == ["a/x/1"]
    assert any_store.list("c") == ["c"]  # a key lists itself
    assert any_store.list("zzz") == []


def test_delete(any_store: Store) -> None:
    any_store.write_text("d/1", "x")
    any_store.delete("d/1")
    assert not any_store.exists("d/1")
    assert any_store.list("d") == []
    any_store.delete("d/1")  # deleting a missing key is not an error


def test_append_line(any_store: Store) -> None:
    any_store.append_line("log.jsonl", '{"step": 0}')
    any_store.append_line("log.jsonl", '{"step": 1}\n')
    assert any_store.read_text("log.jsonl").splitlines() == ['{"step": 0}', '{"step": 1}']


def test_child_view(any_store: Store) -> None:
    run = any_store.child("run-1")
    run.write_text("config.yaml", "a: 1")
    run.child("steps").write_text("0.json", "{}")
    assert any_store.read_text("run-1/config.yaml") == "a: 1"
    assert run.list() == ["config.yaml", "steps/0.json"]
    assert run.exists("steps/0.json")
    assert run.uri.endswith("/run-1")
    any_store.write_text("run-10/x", "other run")
    assert run.list() == ["config.yaml", "steps/0.json"]


def test_key_escaping_the_root_is_refused(any_store: Store) -> None:
    with pytest.raises(ValueError):
        any_store.write_text("../outside", "x")
