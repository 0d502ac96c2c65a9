"""Cost of running GLOV as a pipeline: kfp's local runner vs one process.

The same smoke run twice, each from a fresh `python` process so both pay their
own start and imports: `glov run` (the in-process loop, glov.runs.loop.run_search)
and `glov run --local` (the Kubeflow DAG on kfp's SubprocessRunner: one process
per task). The difference is split into its parts, measured separately:

- process start: `python -c pass`
- imports: a model task (`import glov.runs.loop, torch, transformers, open_clip`)
  and a light task (kfp's executor + components.run_parameters: data prep, rank)
- model loading: the VLM scorer and the LLM, with warm caches

    .venv/bin/python -m bench.bench_pipeline [--profile smoke] [--set key=value ...]

Target: local <= 1.3x in-process (with the profile's steps_per_pod).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 1.3
HEAVY_IMPORTS = "import glov.runs.loop, torch, transformers, open_clip"
LIGHT_IMPORTS = "import kfp.dsl.executor_main, components.run_parameters"
_LOAD_MODELS = """
import json, sys, time
from glov.config import load_config
from glov.data.bundle import prepare_bundle
from glov.runs.inputs import cache_dir
from glov.runs.loaded_models import Models
cfg = load_config(sys.argv[1], sys.argv[2:])
data = prepare_bundle(cfg.data, cache_dir(cfg))
t0 = time.perf_counter(); models = Models(cfg); models.scorer.image_features(data.fitness)
t1 = time.perf_counter(); models.llm
t2 = time.perf_counter()
print(json.dumps({"vlm": t1 - t0, "llm": t2 - t1}))
"""


_ENV: dict[str, str] = {}  # extra environment of every measured command


def _wall(args: list[str], repeat: int = 1, log: Path | None = None) -> float:
    """Best wall time of `repeat` runs of a command (it must succeed)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = log.open("w") if log else subprocess.DEVNULL
        try:
            env = {**os.environ, **_ENV}
            subprocess.run(args, check=True, stdout=out, stderr=subprocess.STDOUT, env=env)
        finally:
            if log:
                out.close()
        times.append(time.perf_counter() - t0)
    return min(times)


def _step_seconds(run_dir: Path) -> dict[str, float]:
    """LLM and evaluation seconds the run's step records report (the work, not overhead)."""
    llm = evaluation = 0.0
    for steps in run_dir.glob("arms/*/steps.jsonl"):
        for line in steps.read_text().splitlines():
            record = json.loads(line)
            llm += record["llm"]["seconds"]
            evaluation += record["eval_seconds"]
    return {"llm_sampling": round(llm, 2), "evaluation": round(evaluation, 2)}


def _task_seconds(log: Path) -> dict[str, list[float]]:
    """Wall seconds of each task of a local run, from kfp's 'Executing'/'finished' lines.

    Tasks of parallel arms share names; their times are paired first in, first out.
    """
    stamp = re.compile(
        r"(\d\d):(\d\d):(\d\d(?:\.\d+)?) (?:- )?INFO (?:- |root: )(Executing task|Task) '([^']+)'"
    )
    started: dict[str, list[float]] = {}
    out: dict[str, list[float]] = {}
    for line in re.sub(r"\x1b\[[0-9;]*m", "", log.read_text()).splitlines():
        m = stamp.search(line)
        if not m:
            continue
        t = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
        if m[4] == "Executing task":
            started.setdefault(m[5], []).append(t)
        elif "finished with status" in line and started.get(m[5]):
            out.setdefault(m[5], []).append(round(t - started[m[5]].pop(0), 2))
    return out


def _tasks(profile: str, overrides: list[str]) -> dict[str, int]:
    """Tasks of one arm of the local DAG: all, and those that load a model."""
    from glov.config import load_config
    from glov.search.arms import arms_for
    from pipelines.plan import plan_pipeline

    cfg = load_config(profile, overrides)
    groups = len(plan_pipeline(cfg).groups)
    arms = len(arms_for(cfg))
    if cfg.pipeline.steps_per_pod > 1:  # one fused pod per group
        model, light = arms * groups, 0
    else:  # evaluate every step, generate from step 1; seed-template and rank are light
        model, light = arms * (2 * groups - 1), arms * (1 + groups)
    model, light = model + 1, light + 1  # final; data prep
    return {"all": model + light, "model": model, "light": light}


def bench_pipeline(
    profile: str = "smoke", overrides: list[str] | None = None, threads: int | None = None
) -> dict:
    """Wall times of the run in one process and on the local runner, and the overhead split.

    `threads` pins torch's threads (OMP_NUM_THREADS) in every process: on a shared
    machine an OpenMP pool wider than the free cores stalls unpredictably. The
    local runner's tasks get their own count either way (pipelines.local).
    """
    _ENV.clear()
    if threads:
        _ENV.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    from glov.config import load_config
    from pipelines.local import local_threads

    py = sys.executable
    overrides = ["run.progress=false", *(overrides or [])]
    sets = [a for o in overrides for a in ("--set", o)]
    env_load = os.getloadavg()[0]
    start = _wall([py, "-c", "pass"], repeat=3)
    heavy = _wall([py, "-c", HEAVY_IMPORTS], repeat=2)
    light = _wall([py, "-c", LIGHT_IMPORTS], repeat=2)
    # Warm the caches (LLM conversion, image features), then time the loads.
    loads = []
    for _ in range(2):
        cmd = [py, "-c", _LOAD_MODELS, profile, *overrides]
        env = {**os.environ, **_ENV}
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
        loads.append(json.loads(out.strip().splitlines()[-1]))
    load = loads[-1]
    with tempfile.TemporaryDirectory(prefix="glov-bench-") as tmp:
        base = [py, "-m", "cli.main", "run", "--config", profile, *sets]
        in_process = _wall([*base, "--run-dir", f"{tmp}/runs/in-process"])
        log = Path(tmp) / "local.log"
        local = _wall(
            [*base, "--local", "--run-dir", f"{tmp}/runs/local", "--pipeline-root", f"{tmp}/kfp"],
            log=log,
        )
        work = {
            "in_process": _step_seconds(Path(tmp) / "runs" / "in-process"),
            "local": _step_seconds(Path(tmp) / "runs" / "local"),
        }
        task_seconds = _task_seconds(log)
    tasks = _tasks(profile, overrides)
    # What the local run pays on top of the in-process one: a process per extra task,
    # the model imports per extra model task, light imports, one more VLM load per extra
    # model task (final re-loads the scorer) and, with per-stage pods, LLM re-loads.
    expected = {
        "process_start": (tasks["all"] - 1) * start,
        "imports": (tasks["model"] - 1) * (heavy - start) + tasks["light"] * (light - start),
        "model_loading": (tasks["model"] - 1) * load["vlm"],
    }
    return {
        "profile": profile,
        "overrides": overrides,
        "threads": threads,
        "local_task_threads": local_threads(load_config(profile, overrides)),
        "load_average_1m": round(env_load, 2),
        "in_process_seconds": round(in_process, 2),
        "local_runner_seconds": round(local, 2),
        "ratio": round(local / in_process, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": local / in_process <= TARGET_RATIO,
        "overhead_seconds": round(local - in_process, 2),
        "local_tasks": tasks,
        "local_task_seconds": task_seconds,
        # Same work in both runs; a difference here is CPU contention, not overhead.
        "step_work_seconds": work,
        "parts": {
            "process_start_seconds": round(start, 3),
            "model_task_imports_seconds": round(heavy, 2),
            "light_task_imports_seconds": round(light, 2),
            "vlm_load_seconds": round(load["vlm"], 2),
            "llm_load_seconds": round(load["llm"], 2),
        },
        "expected_overhead_seconds": {k: round(v, 2) for k, v in expected.items()},
        "expected_overhead_total_seconds": round(statistics.fsum(expected.values()), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of every process")
    parser.add_argument("--out", help="also write the result to this JSON file")
    args = parser.parse_args(argv)
    result = bench_pipeline(args.profile, args.overrides, args.threads)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
