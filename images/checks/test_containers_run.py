"""The smoke DAG with each task in its image, against a real S3 server on 127.0.0.1.

`glov run --containers` (kfp's DockerRunner, tasks as UID 10001 with a
read-only root, host network for the S3 store) on a fresh cache must build the
converted LLM and the trained VLM exactly once, and report the same fitness
and test accuracies as the subprocess runner on the same seed and models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glov.store.model_share import parse_event

ROOT = Path(__file__).resolve().parents[2]
# Steps per arm (1-2 keeps CI lean; `make run-containers` runs the profile's 4).
STEPS = int(os.environ.get("GLOV_CHECK_STEPS", "1"))


def _glov(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "run", "--config", "smoke", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    return proc, time.monotonic() - started


@pytest.fixture(scope="module")
def runs(docker_client, s3_server, tmp_path_factory):
    """The containers run (S3 store, fresh cache), then the subprocess run on its models."""
    cache = tmp_path_factory.mktemp("cache")
    local_store = tmp_path_factory.mktemp("runs")
    env = {**os.environ, **s3_server.env()}
    sets = ["--set", f"run.cache_dir={cache}", "--set", f"search.steps={STEPS}"]
    containers, containers_s = _glov(
        ["--containers", "--run-dir", "s3://glov/runs/containers", *sets], env
    )
    assert containers.returncode == 0, containers.stdout[-4000:] + containers.stderr[-4000:]
    local, local_s = _glov(["--local", "--run-dir", f"{local_store}/subprocess", *sets], env)
    assert local.returncode == 0, local.stdout[-4000:] + local.stderr[-4000:]
    sys.__stdout__.write(
        f"\ncontainers smoke run ({STEPS} step(s), S3 store): {containers_s:.0f} s; "
        f"subprocess runner on its models: {local_s:.0f} s\n"
    )
    response = s3_server.client().get_object("glov", "runs/containers/report.json")
    try:
        containers_report = json.loads(response.read())
    finally:
        response.close()
        response.release_conn()
    local_report = json.loads((local_store / "subprocess" / "report.json").read_text())
    return containers, containers_report, local, local_report


def _events(output: str):
    return [e for line in output.splitlines() if (e := parse_event(line)) is not None]


def test_a_containers_run_converts_the_llm_once_and_trains_the_vlm_once(runs):
    containers, _, local, _ = runs
    events = _events(containers.stdout)
    built = sorted(e.what.split(" of ")[0] for e in events if e.action == "built")
    assert built == ["LLM conversion", "VLM training"], containers.stdout[-3000:]
    reused = [e for e in events if e.action == "reused"]
    # Three arms' fused steps load both models, the final loads the VLM.
    assert len(reused) >= 7 and all(e.origin == "the cache" for e in reused)
    assert all(e.saved is not None and e.saved > 0 for e in reused)
    assert "models: 2 built (" in containers.stdout
    # The subprocess run found both in the cache the containers wrote.
    assert not [e for e in _events(local.stdout) if e.action == "built"]


def test_same_fitness_as_the_subprocess_runner(runs):
    _, containers_report, _, local_report = runs

    def figures(report: dict) -> dict:
        out = {"s_temp": report["baselines"]["s_temp"]}
        for name, arm in report["arms"].items():
            out[name] = {k: arm[k] for k in ("best_fitness", "test_best", "best_template")}
        return out

    assert len(containers_report["arms"]) == 3  # glov, glov-noguide, llm-opt
    assert figures(containers_report) == figures(local_report)
    for arm in containers_report["arms"].values():
        assert arm["steps"] == STEPS


def test_a_missing_image_is_an_error_naming_it_and_make_images(docker_client, tmp_path):
    run_dir = tmp_path / "runs" / "bad"
    proc, _ = _glov(
        ["--containers", "--run-dir", str(run_dir), "--set", "pipeline.cpu_image=glov-cpu:nope"],
        dict(os.environ),
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: image glov-cpu:nope not on the Docker daemon"), lines
    assert lines[1].startswith("  fix: build both images with `make images`"), lines
    assert len(lines) == 2 and "Traceback" not in proc.stderr
    assert not run_dir.parent.exists(), "a refused run created its store"
