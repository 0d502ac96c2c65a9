"""objective.judge_references that cannot be used is one error naming the file and the place.

A syntax error names `<file>:<line>:<column>` as every JSON file the project
reads does; a file that parses but is not the {image, instruction, response}
list, or is absent, says what the file must hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glov.config import load_config
from glov.errors import DataError
from glov.runs.helpfulness import references
from tests.data.vlguard_files import write_vlguard

# (id, the file's bytes (None: absent), what the problem must say)
CASES = [
    ("cut short", b'[{"image": "a.png",\n  "instruction": ', "gpt4.json:2:18: invalid JSON"),
    ("not UTF-8", b'[{"image": "caf\xe9.png"}]', "gpt4.json:1:16: byte 0xe9 is not UTF-8"),
    ("a record lacks a key", b'[{"image": "a.png", "instruction": "hi"}]', "'response'"),
    ("not a list of records", b'{"image": "a.png"}', "is not a JSON list"),
    ("absent", None, "is not a JSON list"),
]


@pytest.mark.parametrize(("case", "data", "says"), CASES, ids=[c[0] for c in CASES])
def test_unusable_judge_references_are_named(case, data, says, tmp_path: Path):
    root = write_vlguard(tmp_path / "v")
    if data is not None:
        (root / "gpt4.json").write_bytes(data)
    sets = [
        f"data.uri={root}",
        "objective.annotations=test.json",
        "objective.judge_references=gpt4.json",
    ]
    cfg = load_config("paper-safety", sets)
    with pytest.raises(DataError) as caught:
        references(cfg)
    problem, fix = caught.value.problem, caught.value.fix
    assert says in problem and "\n" not in problem, problem
    assert "judge_references" in fix


def test_judge_references_are_checked_before_the_run_exists(tmp_path: Path):
    """With a judge set, unusable references stop the run before its directory is made."""
    from glov.runs.start import start_run

    root = write_vlguard(tmp_path / "v")
    (root / "gpt4.json").write_bytes(b'[{"image": "a.png",\n  "instruction": ')
    sets = [
        f"data.uri={root}",
        "objective.annotations=test.json",
        "objective.judge_references=gpt4.json",
        "objective.judge=pkg://smollm2",
        f"run.cache_dir={tmp_path / 'cache'}",
    ]
    cfg = load_config("paper-safety", sets)
    runs = tmp_path / "runs"
    with pytest.raises(DataError) as caught:
        start_run(cfg, str(runs), "r1", "new")
    assert "gpt4.json:2:18" in caught.value.problem
    assert not (runs / "r1").exists()
