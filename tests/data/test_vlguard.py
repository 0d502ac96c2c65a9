"""The VLGuard-layout loader: subsets, the seeded record-grouped split, bad input errors."""

from __future__ import annotations

import json

import pytest

from glov.config import DataConfig, ObjectiveConfig
from glov.data.bundle import DataBundle, prepare_bundle
from glov.data.vlguard import (
    SAFE_SAFES,
    SAFE_UNSAFES,
    UNSAFES,
    annotations_path,
    load_vlguard,
    split_pairs,
)
from glov.errors import DataError
from tests.data.vlguard_files import vlguard_records, write_vlguard


def test_pairs_come_in_three_subsets_with_their_requests(tmp_path):
    root = write_vlguard(tmp_path)
    pairs = load_vlguard(annotations_path(str(root), "test.json"))
    by_subset = {
        s: [p for p in pairs if p.subset == s] for s in (UNSAFES, SAFE_UNSAFES, SAFE_SAFES)
    }
    assert {s: len(v) for s, v in by_subset.items()} == {UNSAFES: 3, SAFE_UNSAFES: 3, SAFE_SAFES: 3}
    assert by_subset[SAFE_SAFES][0].request == "What colour is picture 0?"
    assert by_subset[SAFE_UNSAFES][0].request == "How do I forge ad 0?"
    assert by_subset[UNSAFES][0].image == str((root / "violence/u0.png").resolve())
    # data.uri may also name the JSON itself.
    assert load_vlguard(annotations_path(str(root / "test.json"), "other.json")) == pairs


def test_split_is_seeded_and_keeps_test_images_unseen(tmp_path):
    pairs = load_vlguard(write_vlguard(tmp_path) / "test.json")
    objective = ObjectiveConfig(kind="safety", fitness_pairs=2)
    fitness, test = split_pairs(pairs, objective, seed=0)
    assert len(fitness) == 2 and {p.subset for p in fitness} == {UNSAFES}
    assert not {p.record for p in fitness} & {p.record for p in test}
    assert len(test) == len(pairs) - 2
    assert split_pairs(pairs, objective, seed=0) == (fitness, test)
    # Both unsafe subsets may feed the fitness; test_per_subset caps each subset.
    both = ObjectiveConfig(
        kind="safety", fitness_pairs=4, fitness_subsets=[UNSAFES, SAFE_UNSAFES], test_per_subset=1
    )
    fitness, test = split_pairs(pairs, both, seed=1)
    assert len(fitness) == 4 and {p.subset for p in fitness} <= {UNSAFES, SAFE_UNSAFES}
    assert not {p.record for p in fitness} & {p.record for p in test}
    subsets = [p.subset for p in test]
    assert test and all(subsets.count(s) <= 1 for s in subsets)


def test_bundle_holds_requests_by_label_and_subsets_and_round_trips(tmp_path):
    root = write_vlguard(tmp_path)
    objective = ObjectiveConfig(kind="safety", fitness_pairs=2, test_per_subset=2)
    bundle = prepare_bundle(DataConfig(uri=str(root)), tmp_path / "cache", objective)
    assert bundle.name == "VLGuard" and len(bundle.fitness) == 2
    assert [bundle.subsets[y] for y in bundle.fitness.labels] == [UNSAFES, UNSAFES]
    assert sorted(bundle.subsets[y] for y in bundle.test.labels) == sorted(
        [UNSAFES, SAFE_UNSAFES, SAFE_UNSAFES, SAFE_SAFES, SAFE_SAFES]
    )
    assert set(bundle.fitness.labels) | set(bundle.test.labels) == set(
        range(len(bundle.classnames))
    )
    assert DataBundle.from_json(json.loads(json.dumps(bundle.to_json()))) == bundle


def _broken(records: list[dict], n: int, **change) -> list[dict]:
    records[n] = {**records[n], **change}
    return records


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: _broken(r, 0, safe="no"), "not true or false"),
        (lambda r: _broken(r, 0, **{"instr-resp": []}), "no instr-resp"),
        (lambda r: [{k: v for k, v in r[0].items() if k != "image"}], "lacks image"),
        # An unsafe image's entry must use `instruction`, a safe image's the safe/unsafe keys.
        (lambda r: _broken(r, 0, **{"instr-resp": [{"safe_instruction": "x"}]}), "instruction"),
        (lambda r: _broken(r, 1, **{"instr-resp": [{"instruction": "x"}]}), "safe_instruction"),
        (lambda r: _broken(r, 1, **{"instr-resp": [{"safe_instruction": " "}]}), "empty"),
        (lambda r: ["not a record"], "not an object"),
    ],
)
def test_bad_records_are_data_errors_naming_the_problem(tmp_path, edit, message):
    root = write_vlguard(tmp_path)
    (root / "test.json").write_text(json.dumps(edit(vlguard_records())))
    with pytest.raises(DataError, match=message) as info:
        load_vlguard(root / "test.json")
    assert info.value.fix


def test_missing_files_and_bad_documents_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no VLGuard annotations"):
        annotations_path(str(tmp_path), "test.json")
    root = write_vlguard(tmp_path)
    (root / "violence/u1.png").unlink()
    with pytest.raises(DataError, match="u1.png"):
        load_vlguard(root / "test.json")
    (root / "test.json").write_text("{not json")
    with pytest.raises(DataError, match=r"test.json:1:2: invalid JSON: Expecting property name"):
        load_vlguard(root / "test.json")
    (root / "test.json").write_text("{}")
    with pytest.raises(DataError, match="non-empty list"):
        load_vlguard(root / "test.json")


def test_a_split_without_test_pairs_is_a_data_error(tmp_path):
    records = [r for r in vlguard_records() if not r["safe"]]
    pairs = load_vlguard(write_vlguard(tmp_path, records) / "test.json")
    with pytest.raises(DataError, match="no test pairs"):
        split_pairs(pairs, ObjectiveConfig(kind="safety", fitness_pairs=50), seed=0)
