"""The file system refusing something: one mapping to problem and fix, for every command.

Three tables. The first makes each errno class for real where this machine can
(a file in the way, a directory where a file belongs, a name too long, a link
loop) under the path each command takes: `-o` of compile and export,
--run-dir, store.uri, run.cache_dir, --pipeline-root. The second turns the
pre-checks off, so the same real errors (exists, not-a-directory,
is-a-directory) are met by the write itself, mid-command, as a race or a
missed check would meet them. The third injects the errnos a test cannot
provoke as root (permission, read-only, no space, quota, too many links) into
a real write or read of several commands. Each must end
in one `error:`/`fix:` paragraph with exit 2 and no traceback, the fix naming
the option or setting the path came from, and nothing already stored changed.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from cli.main import main
from glov.os_errors import explain
from tests.cli.error_output import one_paragraph, tree_digest
from tests.cli.fake_runs import finished_run
from tests.cli.test_bad_inputs import folder_dataset

LONG = "n" * 300  # over the 255-byte file name limit of common file systems


def _run(*extra: str) -> list[str]:
    return ["run", "--config", "smoke", "--set", "data.uri=data", "--set", "data.shots=1", *extra]


# (case id, argv, what the problem names, the option the fix must name)
Case = tuple[str, list[str], str, str]
REAL: list[Case] = [
    ("compile -o under a file", ["compile", "-o", "afile/p.yaml"], "afile is a file", "-o"),
    ("compile -o is a directory", ["compile", "-o", "adir"], "is a directory", "-o"),
    ("compile -o name too long", ["compile", "-o", f"{LONG}.yaml"], "too long", "-o"),
    ("compile -o through a link loop", ["compile", "-o", "loop/p.yaml"], "symbolic links", "-o"),
    ("run --run-dir under a file", _run("--run-dir", "afile/r1"), "not a directory", "--run-dir"),
    ("run --run-dir is a file", _run("--run-dir", "runs/plain"), "is a file", "--run-dir"),
    ("run --run-dir too long", _run("--run-dir", f"{LONG}/r1"), "too long", "--run-dir"),
    ("run --run-dir in a link loop", _run("--run-dir", "loop/r1"), "symbolic", "--run-dir"),
    (
        "run store.uri under a file",
        _run("--set", "store.uri=afile/runs"),
        "not a directory",
        "store.uri",
    ),
    (
        "run run.cache_dir under a file",
        _run("--run-dir", "runs/new", "--set", "run.cache_dir=afile/cache"),
        "not a directory",
        "run.cache_dir",
    ),
    (
        "run --local --pipeline-root under a file",
        _run("--local", "--run-dir", "runs/new", "--pipeline-root", "afile/root"),
        "not a directory",
        "--pipeline-root",
    ),
    (
        "export -o under a file",
        ["export", "runs/done", "-o", "afile/out", "--no-head"],
        "afile is a file",
        "-o",
    ),
    (
        "build-vlm run.cache_dir under a file",
        ["build-vlm", "--set", "run.cache_dir=afile/cache"],
        "afile is a file",
        "run.cache_dir",
    ),
]


@pytest.fixture
def place(tmp_path: Path, monkeypatch) -> Path:
    """A working directory holding a store with a finished run, and things in the way."""
    monkeypatch.chdir(tmp_path)
    logging.getLogger("glov").setLevel(logging.WARNING)
    (tmp_path / "afile").write_text("a file, not a directory")
    (tmp_path / "adir").mkdir()
    (tmp_path / "loop").symlink_to("loop")
    folder_dataset(tmp_path / "data")
    finished_run(tmp_path / "runs")
    (tmp_path / "runs" / "plain").write_text("a file where a run directory would go")
    return tmp_path


def _refused(argv: list[str], place: Path, capsys) -> tuple[str, str]:
    before = tree_digest(place, skip=("c", ".cache"))
    rc = main([*argv, "--set", f"run.cache_dir={place}/c"] if _takes_config(argv) else argv)
    problem, fix = one_paragraph(capsys.readouterr().err)
    assert rc == 2
    assert tree_digest(place, skip=("c", ".cache")) == before  # nothing created or changed
    return problem, fix


def _takes_config(argv: list[str]) -> bool:
    return argv[0] in ("run", "build-vlm") and not any("run.cache_dir" in a for a in argv)


@pytest.mark.parametrize("case", REAL, ids=[c[0] for c in REAL])
def test_a_path_the_file_system_refuses_names_its_option(case: Case, place: Path, capsys):
    _, argv, named, option = case
    problem, fix = _refused(argv, place, capsys)
    assert named in problem, problem
    assert f"for {option}" in fix, fix


# (case id, argv, the pre-check turned off, the errno the write meets, problem words, option)
Unchecked = tuple[str, list[str], str, int, str, str]
UNCHECKED: list[Unchecked] = [
    (
        "compile -o under a file: mkdir",
        ["compile", "-o", "afile/p.yaml"],
        "pipelines.compile.check_creatable",
        errno.EEXIST,
        "afile is a file",
        "-o",
    ),
    (
        "compile -o two below a file: mkdir",
        ["compile", "-o", "afile/sub/p.yaml"],
        "pipelines.compile.check_creatable",
        errno.ENOTDIR,
        "afile is a file, not a directory",
        "-o",
    ),
    (
        "compile -o is a directory: the write",
        ["compile", "-o", "adir.yaml"],
        "pipelines.compile.check_creatable",
        errno.EISDIR,
        "adir.yaml is a directory",
        "-o",
    ),
    (
        "export -o is a file: mkdir",
        ["export", "runs/done", "-o", "afile", "--no-head"],
        "cli.run_queries.check_creatable",
        errno.EEXIST,
        "afile is a file",
        "-o",
    ),
    (
        "run --run-dir under a file: the first record",
        _run("--run-dir", "afile/r1"),
        "glov.runs.rundir.check_creatable",
        errno.ENOTDIR,
        "afile is a file, not a directory",
        "--run-dir",
    ),
]


@pytest.mark.parametrize("case", UNCHECKED, ids=[c[0] for c in UNCHECKED])
def test_an_error_met_by_the_write_itself_maps_the_same(
    case: Unchecked, place: Path, capsys, monkeypatch
):
    _, argv, check, code, named, option = case
    (place / "adir.yaml").mkdir()
    met: list[int] = []

    def unchecked(path, kind) -> None:
        met.append(0)  # the check was reached, and skipped

    monkeypatch.setattr(check, unchecked)
    # export reads data.json only to write the head, which --no-head skips
    monkeypatch.setattr("glov.runs.inputs.load_or_prepare_data", lambda cfg, run: None)
    explained: list[int | None] = []
    real_explain = explain

    def spying(exc: OSError, option: str | None = None):
        explained.append(exc.errno)
        return real_explain(exc, option)

    monkeypatch.setattr("cli.main.explain", spying)
    problem, fix = _refused(argv, place, capsys)
    assert met and explained == [code]  # the OS raised it, not a pre-check
    assert named in problem, problem
    assert f"for {option}" in fix, fix


# Errnos a test cannot provoke as root: injected into a real write or read.
INJECTED = [
    (errno.EACCES, "permission denied"),
    (errno.EPERM, "permission denied"),
    (errno.EROFS, "read-only file system"),
    (errno.ENOSPC, "no space left"),
    (errno.EDQUOT, "quota"),
    (errno.EMLINK, "too many links"),
]


def _fail_on(target: str, code: int, monkeypatch) -> None:
    """Make `target` (module.Class.method taking a path or key) raise errno `code`."""
    module, cls, method = target.rsplit(".", 2)
    import importlib

    owner = getattr(importlib.import_module(module), cls)

    def fails(self, key, *args, **kwargs):
        path = self._path(key) if hasattr(self, "_path") else key
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(owner, method, fails)


# (command, argv, what fails, the option the fix must name)
Where = tuple[str, list[str], str, str]
WHERE: list[Where] = [
    ("run", _run("--run-dir", "runs/new"), "glov.store.local.LocalStore.write_bytes", "--run-dir"),
    ("show", ["show", "runs/done"], "glov.store.local.LocalStore.read_bytes", "run directory"),
    ("list", ["list", "runs"], "glov.store.local.LocalStore.read_bytes", "store root"),
    ("report", ["report", "runs/done"], "glov.store.local.LocalStore.read_bytes", "run directory"),
]


@pytest.mark.parametrize("where", WHERE, ids=[w[0] for w in WHERE])
@pytest.mark.parametrize(("code", "named"), INJECTED, ids=[errno.errorcode[c] for c, _ in INJECTED])
def test_every_errno_class_is_one_paragraph_naming_the_option(
    where: Where, code: int, named: str, place: Path, capsys, monkeypatch
):
    _, argv, target, option = where
    _fail_on(target, code, monkeypatch)
    problem, fix = _refused(argv, place, capsys)
    assert named in problem, problem
    assert option in fix, fix


def test_compile_output_that_cannot_be_written_names_o(place: Path, capsys, monkeypatch):
    def fails(self, pipeline_func, package_path, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), package_path)

    monkeypatch.setattr("kfp.compiler.Compiler.compile", fails)
    problem, fix = _refused(["compile", "-o", "out/p.yaml"], place, capsys)
    assert "read-only" in problem and "another path for -o" in fix
    assert "--run-dir" not in fix and "store.uri" not in fix


def test_other_os_errors_are_bugs_and_are_not_hidden(monkeypatch):
    def fails(args: object) -> int:
        raise FileNotFoundError(2, "No such file or directory", "/internal/file")

    monkeypatch.setattr("cli.run_command.run_in_process", fails)
    with pytest.raises(FileNotFoundError):
        main(["run", "--config", "smoke"])
