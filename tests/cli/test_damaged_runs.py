"""Damaged run records are reported by every reader of a run directory, never passed over.

A table of damages (a step record cut off mid-line as a crash or a full disk
leaves it, a line that is not JSON, a step out of order, records lost after the
report was written, a torn report, run.json, data.json or config.yaml, ...)
times the commands that read a run (show, list, compare, export, report, and
resume where it cannot repair the damage itself). Each
must name the file and line, say what it means and what to do, in error
paragraphs with no traceback; exit 2; never call the run "finished"; and change
nothing in the run directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.main import main
from glov.runs.rundir import RunDir
from tests.cli.error_output import error_paragraphs, tree_digest
from tests.cli.fake_runs import finished_run, step_record

ARM = "glov-alpha1"
STEPS = f"arms/{ARM}/steps.jsonl"


def _lines(run: Path, key: str = STEPS) -> list[bytes]:
    return (run / key).read_bytes().split(b"\n")[:-1]


def _write(run: Path, lines: list[bytes], key: str = STEPS, end: bytes = b"\n") -> None:
    (run / key).write_bytes(b"\n".join(lines) + end)


def cut_mid_line(run: Path) -> None:
    data = (run / STEPS).read_bytes()
    (run / STEPS).write_bytes(data[: len(data) - 20])  # the last record, torn


def garbage_line(run: Path) -> None:
    lines = _lines(run)
    lines[1] = b"this is not json"
    _write(run, lines)


def not_a_step_record(run: Path) -> None:
    lines = _lines(run)
    lines[1] = b'{"step": 1, "note": "no scored templates"}'
    _write(run, lines)


def step_repeated(run: Path) -> None:
    lines = _lines(run)
    lines[1] = lines[0]
    _write(run, lines)


def blank_line(run: Path) -> None:
    lines = _lines(run)
    _write(run, [lines[0], b"", *lines[1:]])


def not_utf8(run: Path) -> None:
    lines = _lines(run)
    lines[2] = lines[2].replace(b"photo", b"ph\xffto")
    _write(run, lines)


def steps_lost_after_report(run: Path) -> None:
    _write(run, _lines(run)[:-1])  # cut at a line boundary: valid, but shorter than the report


def fitness_edited(run: Path) -> None:
    lines = _lines(run)
    lines[2] = json.dumps(step_record(2, 0.99), sort_keys=True).encode()
    _write(run, lines)


def torn_report(run: Path) -> None:
    data = (run / "report.json").read_bytes()
    (run / "report.json").write_bytes(data[: len(data) // 2])


def torn_run_json(run: Path) -> None:
    (run / "run.json").write_text('{"run_id": "done", "created": ')


def torn_data_json(run: Path) -> None:
    (run / "data.json").write_text('{"name": "hand-written", "classnames": ["cat", ')


def torn_config(run: Path) -> None:
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text[: text.index("llm:")] + "llm: [model\n")


# (id, damage, what the first error must name, which of `report` and `resume` refuse too)
Damage = tuple[str, Callable[[Path], None], list[str], tuple[str, ...]]
R = ("report",)  # `glov report` refuses; resuming repairs what these damage
DAMAGES: list[Damage] = [
    ("step cut off mid-line", cut_mid_line, [f"{STEPS}:3:", "cut off mid-line"], R),
    ("line that is not JSON", garbage_line, [f"{STEPS}:2:1:", "not JSON"], R),
    ("line that is not a step record", not_a_step_record, [f"{STEPS}:2:", "not a step"], R),
    ("step repeated", step_repeated, [f"{STEPS}:2:", "step 0 where step 1 belongs"], R),
    ("blank line", blank_line, [f"{STEPS}:2:", "empty line"], R),
    ("bytes that are not UTF-8", not_utf8, [f"{STEPS}:3:", "not UTF-8"], R),
    ("steps lost after the report", steps_lost_after_report, ["report.json:", "holds 1"], R),
    # Where only report.json is wrong, `glov report` is the fix (it loads the models).
    ("fitness edited after the report", fitness_edited, ["report.json:", "step 2"], ()),
    ("report.json torn", torn_report, ["report.json:", "invalid JSON"], ()),
    ("run.json torn", torn_run_json, ["run.json:1:", "invalid JSON"], R),
    ("data.json torn", torn_data_json, ["data.json:1:", "invalid JSON"], (*R, "resume")),
    ("config.yaml torn", torn_config, ["config.yaml:", "invalid YAML"], (*R, "resume")),
]


def _commands(run: Path, tmp: Path, also: tuple[str, ...]) -> list[list[str]]:
    commands = [
        ["show", str(run)],
        ["list", str(run.parent)],
        ["compare", str(run)],
        ["export", str(run), "-o", str(tmp / "export"), "--no-head"],
    ]
    if "report" in also:
        commands.append(["report", str(run)])
    if "resume" in also:  # the settings the run was made with (tests/cli/fake_runs.py)
        sets = [f"store.uri={run.parent}", "search.steps=2", f"run.cache_dir={tmp}/c"]
        resume = ["run", "--config", "smoke", "--run-dir", str(run), "--resume"]
        commands.append([*resume, *(a for s in sets for a in ("--set", s))])
    return commands


@pytest.mark.parametrize("damage", DAMAGES, ids=[d[0] for d in DAMAGES])
def test_every_reader_names_the_damaged_record(damage: Damage, tmp_path: Path, capsys):
    _, spoil, named, also = damage
    run = finished_run(tmp_path / "runs")
    path = run.store.local_path("")
    spoil(path)
    before = tree_digest(tmp_path)
    for argv in _commands(path, tmp_path, also):
        rc = main(argv)
        out, err = capsys.readouterr()
        assert rc == 2, (argv, out, err)
        pairs = error_paragraphs(err)
        problem, fix = next((p, f) for p, f in pairs if all(n in p for n in named[:1]))
        assert all(n in problem for n in named), (argv, problem)
        assert str(path) in problem and fix, (argv, problem)
        if argv[0] in ("show", "list", "compare") and out:  # the state they print
            assert "damaged" in out and ": finished," not in out, (argv, out)
            rows = [line for line in out.splitlines() if line.startswith(run.run_id)]
            assert not any(re.search(r"(?<!not) finished ", row) for row in rows), (argv, out)
        assert tree_digest(tmp_path) == before, argv  # nothing written, nothing changed


def test_a_damaged_step_names_what_resuming_does(tmp_path: Path, capsys):
    run = finished_run(tmp_path / "runs")
    cut_mid_line(run.store.local_path(""))
    assert main(["show", str(run.store.local_path(""))]) == 2
    out, err = capsys.readouterr()
    assert f"{ARM}: step 1/2" in out and ": damaged," in out
    (problem, fix), *_ = error_paragraphs(err)
    assert "step 2 and later count as not done" in problem
    assert "--resume" in fix and "redoes step 2" in fix and "steps 0-1 stay as stored" in fix


def test_list_goes_on_past_a_run_it_cannot_read(tmp_path: Path, capsys):
    finished_run(tmp_path / "runs", "a-good")
    bad = finished_run(tmp_path / "runs", "b-bad")
    torn_config(bad.store.local_path(""))
    assert main(["list", str(tmp_path / "runs")]) == 2
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert " finished " in rows["a-good"] and " damaged " in rows["b-bad"]
    assert "b-bad/config.yaml:" in error_paragraphs(err)[0][0]


def test_an_intact_run_is_finished_and_exits_0(tmp_path: Path, capsys):
    run = finished_run(tmp_path / "runs")
    assert main(["show", str(run.store.local_path(""))]) == 0
    out, err = capsys.readouterr()
    assert ": finished," in out and err == ""


@pytest.mark.parametrize(
    "damage",
    [cut_mid_line, garbage_line, step_repeated, blank_line, not_utf8],
    ids=lambda d: d.__name__,
)
def test_resume_redoes_the_damaged_step_and_keeps_complete_ones_byte_identical(
    damage: Callable[[Path], None], tmp_path: Path
):
    run = finished_run(tmp_path / "runs")
    path = run.store.local_path(STEPS)
    damage(run.store.local_path(""))
    log = RunDir.existing(str(tmp_path / "runs"), "done").step_log(ARM)
    kept = path.read_bytes()[: len(log.kept)]
    assert kept == log.kept and log.problem is not None
    redo = len(log.records)
    run.append_step(ARM, step_record(redo, 0.8))  # what the resumed loop writes next
    data = path.read_bytes()
    assert data.startswith(kept)  # every complete step, byte for byte
    assert [r["step"] for r in run.steps(ARM)] == list(range(redo + 1))
    assert run.step_log(ARM).problem is None and data.endswith(b"\n")
