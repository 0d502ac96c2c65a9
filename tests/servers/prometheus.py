"""Real Prometheus and Pushgateway processes for tests (no mocks).

Uses Debian's `prometheus` and `prometheus-pushgateway` packages, installing
them with apt-get when the binaries are missing (tests run as root in CI).
Each server listens on a free 127.0.0.1 port with its own temp directory and
is stopped by the PID this module started, never by name.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BINARIES = ("prometheus", "promtool", "prometheus-pushgateway")
PACKAGES = ("prometheus", "prometheus-pushgateway")


def ensure_installed() -> None:
    """apt-get install the Debian packages if any binary is missing."""
    if all(shutil.which(b) for b in BINARIES):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(f"need {', '.join(BINARIES)}: apt-get install {' '.join(PACKAGES)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    # Their postinst scripts start services only under systemd, which a test
    # container does not run; the servers below are our own processes.
    subprocess.run(["apt-get", "install", "-y", "-qq", *PACKAGES], check=True, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                http_get(self.url + "/-/ready", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # by the PID we started
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _spawn(name: str, args: list[str], workdir: Path, port: int) -> Server:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    server = Server(name, proc, port, log)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


def start_pushgateway(workdir: Path) -> Server:
    port = free_port()
    args = [
        "prometheus-pushgateway",
        f"--web.listen-address=127.0.0.1:{port}",
        # Debian defaults this to /var/lib/prometheus/pushgateway.data, which
        # would carry groups from one test session into the next.
        "--persistence.file=",
    ]
    return _spawn("pushgateway", args, workdir, port)


def pushgateway_scrape_config(target: str) -> dict[str, Any]:
    """A scrape job for a Pushgateway: 1 s interval, and honor_labels so the
    pushed job/run/step labels are kept instead of the Pushgateway's own."""
    return {
        "job_name": "pushgateway",
        "honor_labels": True,
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "static_configs": [{"targets": [target]}],
    }


def start_prometheus(
    workdir: Path,
    scrape_configs: list[dict[str, Any]],
    rule_files: Sequence[Path] = (),
) -> Server:
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": scrape_configs,
        "rule_files": [str(p) for p in rule_files],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    args = [
        "prometheus",
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return _spawn("prometheus", args, workdir, port)


@dataclass
class Stack:
    pushgateway: Server
    prometheus: Server

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query through /api/v1/query; raises on a PromQL error."""
        url = self.prometheus.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            body = json.loads(http_get(url))
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{expr!r}: {err.read().decode()}") from None
        assert body["status"] == "success", body
        return body["data"]["result"]

    def label_values(self, label: str, match: str) -> list[str]:
        qs = urllib.parse.urlencode({"match[]": match})
        body = json.loads(http_get(f"{self.prometheus.url}/api/v1/label/{label}/values?{qs}"))
        return body["data"]

    def wait_for(self, expr: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll until `expr` returns a non-empty result (scrapes are every 1 s)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.25)


@contextmanager
def prometheus_stack(
    workdir: Path,
    scrape_config: dict[str, Any] | None = None,
    rule_files: Sequence[Path] = (),
) -> Iterator[Stack]:
    """A Pushgateway and a Prometheus scraping it every second.

    `scrape_config` (a scrape job whose target is replaced by the gateway's)
    lets a test use the project's own snippet instead of the default job.
    """
    ensure_installed()
    workdir.mkdir(parents=True, exist_ok=True)
    gateway = start_pushgateway(workdir)
    try:
        job = pushgateway_scrape_config(gateway.address)
        if scrape_config is not None:
            job = {**scrape_config, "scrape_interval": "1s", "scrape_timeout": "1s"}
            job["static_configs"] = [{"targets": [gateway.address]}]
        prometheus = start_prometheus(workdir, [job], rule_files)
        try:
            yield Stack(gateway, prometheus)
        finally:
            prometheus.stop()
    finally:
        gateway.stop()
