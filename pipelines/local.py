"""Run the GLOV pipeline DAG on this machine with kfp's local runners.

The same DAG as on Kubeflow (data prep, shared models, one sub-DAG per step or
step group per arm, final), each task in its own Python subprocess of this
interpreter (SubprocessRunner), or with `containers` in its own container of
its image (DockerRunner, pipelines/containers.py); the Kubernetes settings
(GPUs, node selectors, secrets, volumes) have no effect locally. Task
artifacts go to a local pipeline root; the run itself (config, step records,
report) goes to the run directory in the store, exactly as with `glov run`, so
`glov report` and resuming work the same way.

The terminal gets one line per finished step, per task and per model built or
reused, and a line on the models at the end (local_console.py);
each task's full output is in `task.log` in its directory under the pipeline
root, kfp's own log in `kfp-<run id>.log` there.
"""

from __future__ import annotations

import logging
import os
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glov.config import GlovConfig
from glov.errors import GlovError
from glov.os_errors import check_creatable
from glov.runs.inputs import cache_dir
from glov.runs.rundir import RunDir, default_run_id, open_mode
from glov.runs.start import preflight
from glov.search.arms import arms_for
from pipelines.containers import (
    ContainerTasks,
    check_images,
    docker_client,
    plan_containers,
    task_images,
    writable_by_tasks,
)
from pipelines.local_console import ANSI, TaskConsole, quiet_kfp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalRun:
    run_id: str
    run_uri: str
    pipeline_root: Path
    report: dict
    report_path: Path | None  # report.md, when the store is local


LOCAL_PARALLEL_TASKS = 2  # kfp.local's ParallelFor runs at most this many iterations at once


def local_threads(cfg: GlovConfig) -> int:
    """Torch threads per task: $OMP_NUM_THREADS if set, else this machine's cores shared
    by the arms that run at once."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]):
        return int(os.environ["OMP_NUM_THREADS"])
    at_once = max(1, min(LOCAL_PARALLEL_TASKS, len(arms_for(cfg))))
    return max(1, (os.cpu_count() or 1) // at_once)


def default_pipeline_root(cfg: GlovConfig) -> Path:
    return cache_dir(cfg) / "kfp-local"


def run_local(
    cfg: GlovConfig,
    *,
    root: str | None = None,
    run_id: str | None = None,
    resume: bool = False,
    force: bool = False,
    pipeline_root: str | Path | None = None,
    params: dict[str, Any] | None = None,
    verbose: bool = False,
    containers: bool = False,
) -> LocalRun:
    """Run (or, with `resume`, continue) the pipeline for `cfg` locally; returns the report.

    `root`/`run_id` name the run directory (default: store.uri and
    <run.name>-<time>). An existing run needs `resume` (finished steps are
    reused) or `force` (replaced), as with `glov run`. `verbose` echoes every
    task's output and kfp's log instead of one line per step and per task.
    `containers` runs each task in its image (pipelines/containers.py).
    """
    from kfp import local

    from pipelines.glov_pipeline import build_pipeline
    from pipelines.plan import plan_pipeline

    root = root or cfg.store.uri
    run_id = run_id or default_run_id(cfg.run.name)
    if containers:
        # Paths mean the same on the host and in every container (bind mounts at
        # the host's paths): the store, the cache and the pipeline root are absolute.
        root = absolute_store(root)
        cfg = cfg.model_copy(
            update={"run": cfg.run.model_copy(update={"cache_dir": str(cache_dir(cfg).resolve())})}
        )
    # The pipeline's shape first: a config it cannot run (an objective that does
    # not shard, a DAG over Argo's limits) is refused before anything is created.
    plan = plan_pipeline(cfg)
    if containers:  # Docker and both images, before anything is created
        check_images(docker_client(), task_images(cfg))
    # The same checks as `glov run` (config, run directory, store, templates,
    # data), before anything is created or any task starts; data prep then
    # creates the run, or reopens it on --resume.
    mode = open_mode(resume=resume, force=force)
    proot = Path(pipeline_root) if pipeline_root else default_pipeline_root(cfg)
    check_creatable(proot, "dir")
    preflight(cfg, root, run_id, mode)
    # Bind mounts and task paths need it absolute (checked as given, above).
    proot = proot.resolve()
    arguments = {"run_id": run_id, "store_uri": root, **(params or {})}
    console = TaskConsole(proot, proot / f"kfp-{run_id}.log", verbose=verbose)
    if containers:
        setup = plan_containers(cfg, root, cache_dir(cfg))
        tasks = ContainerTasks(console, setup, run_id)
        runner: Any = local.DockerRunner(**setup.runner_args())
        # A pod resolves "" to its image's GLOV_CACHE_DIR; this run's is the mounted one.
        arguments.setdefault("cache_dir", str(cache_dir(cfg)))
        context = writable_by_tasks(setup, proot)
        run_container = tasks.run
    else:
        runner, context, run_container = local.SubprocessRunner(use_venv=False), nullcontext(), None
    with context:
        RunDir.claim(root, run_id, mode, cfg.store)
        proot.mkdir(parents=True, exist_ok=True)
        local.init(runner=runner, pipeline_root=str(proot), raise_on_error=True)
        # kfp's local runner runs up to 2 arms at once; split this machine's cores between
        # them instead of letting two torch pools oversubscribe it.
        pipeline = build_pipeline(plan, threads=local_threads(cfg))
        where = "a container of its image" if containers else "a subprocess"
        console.say(f"run {run_id}: each task in {where}; task logs under {proot}")
        try:
            _run_pipeline(pipeline, arguments, console, run_container, root, run_id)
        finally:
            if containers:
                tasks.stop_all()
            console.say(console.model_summary())
    run = RunDir.existing(root, run_id)
    report = run.read_json("report.json")
    return LocalRun(run_id, run.uri, proot, report, run.store.local_path("report.md"))


def absolute_store(root: str) -> str:
    """A file store's root as an absolute path (an s3:// root as it is)."""
    if root.startswith("s3://"):
        return root
    return str(Path(root.removeprefix("file://")).expanduser().resolve())


def _run_pipeline(
    pipeline: Any,
    arguments: dict[str, Any],
    console: TaskConsole,
    run_container: Any,
    root: str,
    run_id: str,
) -> None:
    """Call the pipeline with kfp's output rerouted; a failed task is a GlovError."""
    with warnings.catch_warnings(), quiet_kfp(console, run_container):
        # Locally, GPU/CPU requests and display names are no-ops and the images
        # are not Python images; kfp warns about each task. Nothing to act on.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            pipeline(**arguments)
        except RuntimeError as exc:
            logs = ", ".join(str(p) for p in console.failed_logs) or str(console.kfp_log)
            raise GlovError(
                f"the local pipeline run {run_id} failed: {ANSI.sub('', str(exc))}",
                f"see the task log ({logs}); fix the cause and continue with "
                f"`glov run --local --config ... --run-dir {root.removeprefix('file://')}/{run_id} "
                f"--resume` (finished steps are reused)",
            ) from None
