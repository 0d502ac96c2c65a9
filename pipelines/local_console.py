"""What a local pipeline run prints: one line per finished step and per task.

kfp.local prints every task's whole output (the executor input JSON, the config
passed as a parameter, progress bars) and its own colourised log records to
stdout: about 730 lines for the smoke profile. For the duration of one run,
`quiet_kfp` reroutes that:

- each task's output (a subprocess's, or a container's with --containers) goes
  to `task.log` in the task's directory under the pipeline root; of it, only
  the lines tagged STEP_LOG_TAG (one per finished step, logged by
  glov/runs/execute.py) and MODEL_LOG_TAG (each model built or reused,
  glov/store/model_share.py) reach the terminal, plus one line when the task
  ends, and the tail of its log when it failed;
- kfp's own log records go to one file beside the task directories;
- verbose: both are echoed too; colour codes reach stdout only on a terminal.

It works by replacing four functions of kfp.local (five with --containers) for
the duration of the run (restored afterwards); kfp.local offers no option for
any of this.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from glov.runs.execute import STEP_LOG_TAG
from glov.store.model_share import MODEL_LOG_TAG, ModelEvent, parse_event

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FAILED_TAIL_LINES = 25  # of a failed task's log, printed: the traceback and the error


class TaskConsole:
    """Runs kfp.local's task subprocesses with their output in per-task log files."""

    def __init__(self, pipeline_root: Path, kfp_log: Path, verbose: bool = False):
        self.pipeline_root = Path(pipeline_root)
        self.kfp_log = kfp_log
        self.verbose = verbose
        self.failed_logs: list[Path] = []
        self.model_events: list[ModelEvent] = []
        # kfp.local runs the arms' tasks in threads; one line at a time on stdout.
        self._lock = threading.Lock()
        self._unnamed = 0

    def say(self, text: str) -> None:
        # sys.stdout looked up per call: pytest's capture (and any redirect) replaces it.
        out = sys.stdout
        if not out.isatty():
            text = ANSI.sub("", text)
        with self._lock:
            out.write(text.rstrip("\n") + "\n")
            out.flush()

    def run_task(self, full_command: list[str], env_vars: dict[str, str] | None = None) -> int:
        """kfp.local's `run_local_subprocess`, with the output going to the task's log."""
        log_path, label = self.task_of(full_command)
        env = {**os.environ, **env_vars} if env_vars else None
        start = time.monotonic()
        with subprocess.Popen(
            full_command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            env=env,
        ) as proc:
            assert proc.stdout is not None  # stdout=PIPE
            tail = self.follow(proc.stdout, log_path, label)
            code = proc.wait()
        return self.finish(label, log_path, code, time.monotonic() - start, tail)

    def follow(self, lines: Iterable[str], log_path: Path, label: str) -> deque[str]:
        """Write a task's output lines to its log; echo the tagged ones. Returns the tail."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        tail: deque[str] = deque(maxlen=FAILED_TAIL_LINES)
        with log_path.open("w", encoding="utf-8") as log:
            for line in lines:
                log.write(line)
                log.flush()  # a user tailing the file sees the task live
                tail.append(line)
                event = parse_event(line)
                if event is not None:
                    with self._lock:
                        self.model_events.append(event)
                if self.verbose:
                    self.say(f"[{label}] {line}")
                elif STEP_LOG_TAG in line:
                    self.say("  " + line[line.index(STEP_LOG_TAG) + len(STEP_LOG_TAG) :].strip())
                elif event is not None:
                    self.say(f"  {label}: {line[line.index(MODEL_LOG_TAG) :].strip()}")
        return tail

    def finish(
        self, label: str, log_path: Path, code: int, seconds: float, tail: deque[str]
    ) -> int:
        """The task's closing line (and its log's tail when it failed)."""
        if code == 0:
            self.say(f"task {label}: done in {seconds:.1f} s")
        else:
            self.failed_logs.append(log_path)
            self.say(f"task {label}: FAILED after {seconds:.1f} s (exit {code}); log: {log_path}")
            if not self.verbose:  # verbose printed all of it already
                self.say("".join("    | " + line for line in tail))
        return code

    def model_summary(self) -> str:
        """How many models this run built and how much time reusing them saved."""
        return summarize_events(self.model_events)

    def task_of(self, full_command: list[str]) -> tuple[Path, str]:
        """The task's log file (in its directory) and a short name for it."""
        try:
            executor_input = json.loads(full_command[full_command.index("--executor_input") + 1])
            task_root = Path(executor_input["outputs"]["outputFile"]).parent
            params = executor_input.get("inputs", {}).get("parameterValues", {})
        except (ValueError, IndexError, KeyError, TypeError):
            # Not the command shape kfp 2 builds: keep the log anyway, under a counter.
            with self._lock:
                self._unnamed += 1
                n = self._unnamed
            return self.pipeline_root / "task-logs" / f"task-{n}.log", f"task-{n}"
        try:
            parts = task_root.relative_to(self.pipeline_root).parts[1:]  # [0]: the run
        except ValueError:
            parts = (task_root.name,)
        # The loop's iteration directories say nothing a user reads; the arm does.
        label = "/".join(p for p in parts if not p.startswith("for-loop-")) or task_root.name
        arm = params.get("arm")
        if isinstance(arm, dict) and arm.get("name"):
            label += f" [{arm['name']}]"
        return task_root / "task.log", label


class _Divert(logging.Filter):
    """On the root logger: kfp's records (it logs through the root logger) go to
    `handlers` instead of the root's own handlers; every other record passes."""

    def __init__(self, handlers: list[logging.Handler]):
        super().__init__()
        self.handlers = handlers

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "root":
            return True
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        return False


class _Plain(logging.Formatter):
    """kfp colours task names and statuses; a file or a pipe gets the plain text."""

    def format(self, record: logging.LogRecord) -> str:
        return ANSI.sub("", super().format(record))


class _ConsoleHandler(logging.Handler):
    def __init__(self, console: TaskConsole):
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.say(self.format(record))


@contextlib.contextmanager
def quiet_kfp(
    console: TaskConsole, run_container: Callable[..., int] | None = None
) -> Iterator[TaskConsole]:
    """kfp.local's output rerouted as the module docstring says, for one pipeline call.

    `run_container` replaces kfp's `run_docker_container` (DockerRunner's tasks).
    """
    from kfp.local import docker_task_handler, logging_utils, subprocess_task_handler

    console.kfp_log.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(console.kfp_log, encoding="utf-8")
    file_handler.setFormatter(_Plain("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handlers: list[logging.Handler] = [file_handler]
    if console.verbose:
        echo = _ConsoleHandler(console)
        echo.setFormatter(logging.Formatter("kfp: %(message)s"))
        handlers.append(echo)
    root, kfp_logger = logging.getLogger(), logging.getLogger("kfp")
    divert = _Divert(handlers)
    saved_level, saved_propagate = root.level, kfp_logger.propagate
    replaced = [
        # It swaps the root logger's handlers per call, from several threads at once:
        # handlers leaked across tasks. Our filter and handlers stay put instead.
        (logging_utils, "local_logger_context", contextlib.nullcontext),
        # It patches builtins.print, process-wide, while a task runs.
        (logging_utils, "indented_print", contextlib.nullcontext),
        (logging_utils, "print_horizontal_line", lambda: None),
        (subprocess_task_handler, "run_local_subprocess", console.run_task),
    ]
    if run_container is not None:
        replaced.append((docker_task_handler, "run_docker_container", run_container))
    originals = [(module, name, getattr(module, name)) for module, name, _ in replaced]
    for module, name, new in replaced:
        setattr(module, name, new)
    root.addFilter(divert)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)  # kfp's INFO records belong in its log file
    for handler in handlers:
        kfp_logger.addHandler(handler)
    kfp_logger.propagate = False
    try:
        yield console
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
        root.removeFilter(divert)
        root.setLevel(saved_level)
        for handler in handlers:
            kfp_logger.removeHandler(handler)
        kfp_logger.propagate = saved_propagate
        file_handler.close()


def summarize_events(events: list[ModelEvent]) -> str:
    """One line: the builds (what, how long) and the reuses (how many, time saved)."""
    built = [e for e in events if e.action == "built"]
    reused = [e for e in events if e.action == "reused"]
    saved = sum(e.saved or 0.0 for e in reused)
    builds = "; ".join(f"{e.what} ({e.seconds:.1f} s)" for e in built) or "none"
    return (
        f"models: {len(built)} built ({builds}); {len(reused)} reused, "
        f"saving {saved:.1f} s of building"
    )
