"""`glov run --containers` where Docker is missing or its daemon is down: one error
line and one fix line, exit 2, no traceback, nothing created (no Docker needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    run_dir = tmp_path / "runs" / "r1"
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "run", "--containers", "--run-dir", str(run_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _refused(proc: subprocess.CompletedProcess, tmp_path: Path) -> list[str]:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: --containers needs Docker; ")
    assert lines[1].startswith("  fix: ") and "`make run`" in lines[1]
    assert not (tmp_path / "runs").exists(), "a refused run created its store"
    return lines


def test_daemon_down(tmp_path):
    socket = tmp_path / "docker.sock"
    socket.touch()  # a socket path nobody listens on: the daemon is down
    env = {**os.environ, "DOCKER_HOST": f"unix://{socket}"}
    error, fix = _refused(_run(tmp_path, env), tmp_path)
    assert f"the Docker daemon at unix://{socket} does not answer" in error
    assert "start it" in fix and "DOCKER_HOST" in fix


def test_docker_not_installed(tmp_path):
    # A PATH with Python but no docker or dockerd, and no daemon socket where one is looked for.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": str(bin_dir), "DOCKER_HOST": f"unix://{tmp_path}/no.sock"}
    assert shutil.which("docker", path=env["PATH"]) is None
    error, fix = _refused(_run(tmp_path, env), tmp_path)
    assert "Docker is not installed" in error and "apt-get install docker.io" in fix
