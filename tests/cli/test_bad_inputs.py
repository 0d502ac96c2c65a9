"""The CLI over a table of bad inputs: each one is refused by name, never with a traceback.

Every case runs `glov ...` in this process (cli.main.main) and must end with
exit code 2, an `error:` line and a `fix:` line on stderr, and no traceback.
All of them fail before a model loads, so the table is fast. Where a case gets
as far as the run directory, nothing may be left there afterwards.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from cli.main import main
from tests.data.bad_images import png_claiming


def write_png(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = tuple(random.Random(seed).randrange(256) for _ in range(3))
    Image.new("RGB", (8, 8), colour).save(path)
    return path


def folder_dataset(root: Path) -> Path:
    for label in ("cat", "dog"):
        for i in range(3):
            write_png(root / label / f"{i}.png", i + (10 if label == "dog" else 0))
    return root


def csv_dataset(root: Path, rows: list[str]) -> Path:
    for i in range(3):
        write_png(root / f"cat{i}.png", i)
        write_png(root / f"dog{i}.png", 10 + i)
    manifest = root / "data.csv"
    manifest.write_text("path,label\n" + "\n".join(rows) + "\n")
    return manifest


PLAIN_ROWS = [f"cat{i}.png,cat" for i in range(3)] + [f"dog{i}.png,dog" for i in range(3)]


def bomb_folder(root: Path) -> Path:
    folder_dataset(root)
    (root / "dog" / "huge.png").write_bytes(png_claiming(20000, 20000))
    return root


# (case id, argv after `glov` built from the tmp dir, what stderr must name)
Case = tuple[str, Callable[[Path], list[str]], str]
RUN = ["run", "--config", "smoke"]

CASES: list[Case] = [
    ("unknown profile", lambda t: ["run", "--config", "nosuch"], "nosuch"),
    ("empty alphas", lambda t: [*RUN, "--set", "guidance.alphas=[]"], "guidance.alphas"),
    ("absurd token count", lambda t: [*RUN, "--set", "llm.max_new_tokens=10000000"], "4096"),
    ("absurd step count", lambda t: [*RUN, "--set", "search.steps=1000000"], "search.steps"),
    (
        "seed template without a slot",
        lambda t: [*RUN, "--set", "search.seed_template=A photo"],
        "search.seed_template",
    ),
    ("empty class names", lambda t: [*RUN, "--set", "data.classnames=[]"], "data.classnames"),
    ("run dir inside a file", lambda t: [*RUN, "--run-dir", f"{t}/afile/r1"], "not a directory"),
    ("run id leaving the store", lambda t: [*RUN, "--run-dir", f"{t}/runs/.."], "'..'"),
    ("resume a run that does not exist", lambda t: [*RUN, "--resume", "nosuch"], "no run"),
    ("resume id leaving the store", lambda t: [*RUN, "--resume", "../x"], "'../x'"),
    ("report of no run", lambda t: ["report", f"{t}/runs/nosuch"], "not a GLOV run"),
    ("report id leaving the store", lambda t: ["report", f"{t}/runs/.."], "'..'"),
    (
        "image that is a decompression bomb",
        lambda t: [*RUN, "--set", f"data.uri={bomb_folder(t / 'bomb')}"],
        "huge.png",
    ),
    (
        "manifest with a repeated row",
        lambda t: [
            *RUN,
            "--set",
            f"data.uri={csv_dataset(t / 'dup', [*PLAIN_ROWS, 'cat0.png,cat'])}",
        ],
        "already listed",
    ),
    (
        "class names naming other labels",
        lambda t: [
            *RUN,
            "--set",
            f"data.uri={csv_dataset(t / 'swap', PLAIN_ROWS)}",
            "--set",
            "data.classnames=[dog, cat]",
        ],
        "applied by position",
    ),
    (
        "unknown DS-TEMP set",
        lambda t: [*RUN, "--set", "eval.ds_templates=nosuch-set"],
        "nosuch-set",
    ),
    (
        "workflow over Argo's limits",
        lambda t: [
            "compile",
            "--config",
            "paper-clip",
            "--set",
            "pipeline.steps_per_pod=1",
            "-o",
            f"{t}/p.yaml",
        ],
        "steps_per_pod=2",
    ),
    (
        "Kubeflow host that does not answer",
        lambda t: ["submit", "--host", "http://127.0.0.1:1", "--config", "smoke"],
        "does not answer",
    ),
    (
        "run name leaving the store",
        lambda t: [
            "submit",
            "--host",
            "http://127.0.0.1:1",
            "--config",
            "smoke",
            "--run-name",
            "../x",
        ],
        "--run-name",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_name(case: Case, tmp_path: Path, monkeypatch, capsys):
    _, argv_of, named = case
    monkeypatch.chdir(tmp_path)  # a stray default output (pipeline YAML, runs/) lands here
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "runs").mkdir()
    # Loggers are set up once per process by basicConfig; keep them quiet here.
    logging.getLogger("glov").setLevel(logging.WARNING)
    argv = argv_of(tmp_path)
    if argv[0] == "run":
        sets = [f"store.uri={tmp_path}/runs", f"run.cache_dir={tmp_path}/c", "data.shots=1"]
        argv += [a for s in sets for a in ("--set", s)]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "error:" in err and "fix:" in err, err
    assert "Traceback" not in err, err
    assert named in err, err
    # Refused before anything was created: no run directory, no pipeline YAML.
    assert list((tmp_path / "runs").iterdir()) == []
    assert not (tmp_path / "p.yaml").exists()
