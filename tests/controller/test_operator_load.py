"""100 GlovRuns at once: the real operator process (`python -m controller`) against
the emulated API server and the fake KFP, killed and restarted midway.

Every GlovRun must reach Succeeded with exactly one Kubeflow run: the restarted
operator adopts what the first one submitted (by the deterministic run name,
also for runs whose id never reached the status) and submits the rest once.
The operator's peak memory (VmHWM of each process) and the time from applying
the GlovRuns to the last Succeeded are printed, and written as JSON to
$GLOV_LOAD_REPORT when that is set; they are figures, not pass criteria.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from glovrun_emulator import ApiServerEmulator, glovrun

from controller.status import FINISHED

pytestmark = [pytest.mark.asyncio, pytest.mark.kmock(cls=ApiServerEmulator)]

RUNS = int(os.environ.get("GLOV_LOAD_RUNS", "100"))
REPO = Path(__file__).resolve().parents[2]
# Seconds a fake Kubeflow run takes: long enough that the restart falls while
# runs are still going, short enough for CI.
RUN_SECONDS = 10.0
# The operator's poll interval (production: 15 s). Each poll of each GlovRun is
# a Kubeflow call, a run-directory read and maybe a status write: at 1 s, 100
# GlovRuns ask more CPU than a loaded 2-core machine gives one process.
POLL_SECONDS = 5


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "emulator", "cluster": {"server": server}}],
                "users": [{"name": "operator", "user": {"token": "emulator"}}],
                "contexts": [
                    {"name": "emulator", "context": {"cluster": "emulator", "user": "operator"}}
                ],
                "current-context": "emulator",
            }
        )
    )
    return path


def start_operator(config: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "KUBECONFIG": str(config),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
    }
    argv = [sys.executable, "-m", "controller", "--namespace", "glov"]
    argv += ["--poll-interval", str(POLL_SECONDS)]
    with log.open("a") as out:
        return subprocess.Popen(
            [*argv, "--metrics-port", "0", "--liveness-port", "0"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def peak_rss_mib(proc: subprocess.Popen) -> float:
    """The process's peak resident set (VmHWM), read while it is alive."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def wait(what: str, check, timeout: float) -> None:
    """Poll every 2 s: the emulator shares this event loop (reading an object
    replays its history), and the fake KFP's answers for 100 runs are not free."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(2.0)


async def settled(count, every: float = 0.5):
    """`count()` once two looks `every` s apart agree. The emulator shares this
    event loop: status patches the killed operator had sent are served after the
    kill (counted at once, 4 of 10 ids were in the status, yet 9 GlovRuns kept
    their first operator's RunCreated)."""
    last = count()
    while True:
        await asyncio.sleep(every)
        now = count()
        if now == last:
            return now
        last = now


def stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


async def test_100_glovruns_with_an_operator_restart_each_submitted_once(
    cluster, kfp, store_uri, tmp_path
):
    kfp.auto(running_after=1.0, succeed_after=RUN_SECONDS)
    config = kubeconfig(tmp_path / "kubeconfig", cluster.url)
    log = tmp_path / "operator.log"
    names = [f"load-{i:03d}" for i in range(RUNS)]
    figures: dict[str, float | int] = {
        "glovruns": RUNS,
        "run_seconds": RUN_SECONDS,
        "poll_seconds": POLL_SECONDS,
    }
    first = start_operator(config, log)
    second = None
    try:
        start = time.monotonic()
        await asyncio.gather(*(cluster.apply(glovrun(n, kfp.url, store_uri)) for n in names))
        # Restart midway through the submissions: some runs exist in Kubeflow whose
        # id the first operator may not have written yet.
        await wait("half the submissions", lambda: len(kfp.names()) >= RUNS // 2, timeout=180)
        figures["peak_rss_mib_first"] = round(peak_rss_mib(first), 1)
        stop(first, signal.SIGKILL)

        def at_kill() -> tuple[int, int]:
            ids = sum(1 for n in names if cluster.status(n).get("kubeflowRunId"))
            return len(kfp.names()), ids

        (
            figures["runs_in_kubeflow_at_kill"],
            figures["ids_in_status_at_kill"],
        ) = await settled(at_kill)
        second = start_operator(config, log)

        pending = set(names)

        def succeeded() -> bool:
            pending.difference_update(
                [n for n in pending if cluster.status(n).get("phase") == "Succeeded"]
            )
            return not pending

        await wait("every GlovRun to succeed", succeeded, timeout=600)
        figures["drain_seconds"] = round(time.monotonic() - start, 1)
        figures["peak_rss_mib_second"] = round(peak_rss_mib(second), 1)
    except BaseException:
        # Why the operator did not get there: its log, and where each GlovRun stands.
        print(log.read_text()[-5000:])
        # Kubeflow's state as the operator last wrote it (polled late, or not at all).
        for name in names:
            obj = cluster.get(name) or {}
            status = obj.get("status") or {}
            reach = next(
                (c for c in status.get("conditions") or [] if c.get("type") == "KubeflowReachable"),
                {},
            )
            print(
                name,
                status.get("phase"),
                status.get("message"),
                status.get("kubeflowState"),
                reach.get("message"),
                status.get("nextAttemptTime"),
            )
        raise
    finally:
        for proc in (first, second):
            if proc is not None:
                stop(proc, signal.SIGTERM)
    tail = log.read_text()[-3000:]

    runs = kfp.names()
    by_name: dict[str, list[str]] = {}
    for run_id, display_name in runs:
        by_name.setdefault(display_name, []).append(run_id)
    twice = {name: ids for name, ids in by_name.items() if len(ids) > 1}
    assert not twice, f"submitted more than once: {twice}"
    assert len(runs) == RUNS, tail
    for name in names:
        status = cluster.status(name)
        assert status["phase"] in FINISHED and status["phase"] == "Succeeded"
        assert by_name[status["runId"]] == [status["kubeflowRunId"]], name
    reasons = [
        next(c["reason"] for c in cluster.status(n)["conditions"] if c["type"] == "Submitted")
        for n in names
    ]
    # Created by the first operator, id not yet in the status: found by name.
    figures["adopted_by_name"] = reasons.count("RunAdopted")
    assert figures["adopted_by_name"] >= (
        figures["runs_in_kubeflow_at_kill"] - figures["ids_in_status_at_kill"]
    )
    figures["peak_rss_mib"] = max(figures["peak_rss_mib_first"], figures["peak_rss_mib_second"])
    print(f"\noperator load: {json.dumps(figures)}")
    if os.environ.get("GLOV_LOAD_REPORT"):
        Path(os.environ["GLOV_LOAD_REPORT"]).write_text(json.dumps(figures, indent=2) + "\n")
