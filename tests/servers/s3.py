"""A real S3 server on 127.0.0.1 for tests: nanio over a temporary directory.

nanio was chosen over `rclone serve s3` because it keeps object metadata on
disk (a sidecar JSON per object), so checksums survive a server kill and
restart, and its error replies parse as S3 errors in the minio client (rclone
sends text/xml, which the client cannot parse, and keeps metadata in memory only).

Usage (from any test):

    from tests.servers.s3 import running_s3_server

    with running_s3_server(tmp_path) as srv:
        monkeypatch.setenv(...) for k, v in srv.env().items()
        srv.make_bucket("glov")

The server is stopped by its PID, never by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

NANIO = Path(sys.executable).with_name("nanio")
ACCESS_KEY = "glov-test-access"
SECRET_KEY = "glov-test-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    root: Path
    port: int
    access_key: str = ACCESS_KEY
    secret_key: str = field(default=SECRET_KEY, repr=False)
    # TLS with a throw-away CA (see make_tls_files); None serves plain http.
    tls: TlsFiles | None = None
    pid: int | None = None
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment variables glov.store.s3 reads (as a Secret would set them)."""
        env = {
            "GLOV_S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "GLOV_S3_SECURE": "false" if self.tls is None else "true",
        }
        if self.tls is not None:
            env["GLOV_S3_CA_BUNDLE"] = str(self.tls.ca_cert)
        return env

    def start(self, timeout: float = 20.0) -> None:
        """Start (or restart, same port and root) and wait until it accepts connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            NANIO_ACCESS_KEY=self.access_key,
            NANIO_SECRET_KEY=self.secret_key,
            NANIO_DATA_DIR=str(self.root),
        )
        if self.tls is None:
            cmd = [str(NANIO), "serve", "--data-dir", str(self.root), "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "1", "--no-access-log",
                   "--log-level", "warning"]  # fmt: skip
        else:
            # `nanio serve` has no TLS flags; its app under uvicorn's own CLI does.
            cmd = [sys.executable, "-m", "uvicorn", "--factory", "nanio.app:build_app",
                   "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
                   "--log-level", "warning", "--ssl-keyfile", str(self.tls.server_key),
                   "--ssl-certfile", str(self.tls.server_cert),
                   "--timeout-graceful-shutdown", "1"]  # fmt: skip
        log = (self.root.parent / f"nanio-{self.port}.log").open("ab")
        self._proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.pid = self._proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"nanio exited with {self._proc.returncode}; see its log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nanio did not listen on port {self.port} within {timeout}s")

    def kill(self) -> None:
        """SIGKILL: a crash, no chance to finish requests."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        # A graceful stop waits for clients' keep-alive connections; do not wait long.
        self._signal(signal.SIGTERM, grace=2.0)

    def _signal(self, sig: int, grace: float = 10.0) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        os.kill(self._proc.pid, sig)
        try:
            self._proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)

    def client(self):
        """A raw minio client (no glov metadata, no checksums) for setup and tampering."""
        import urllib3
        from minio import Minio

        http = None
        if self.tls is not None:
            http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(self.tls.ca_cert))
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=self.tls is not None,
            region="us-east-1",
            http_client=http,
        )

    def make_bucket(self, name: str) -> None:
        client = self.client()
        if not client.bucket_exists(name):
            client.make_bucket(name)

    def object_path(self, bucket: str, key: str) -> Path:
        """Where the server keeps an object's bytes on disk (for tampering tests)."""
        return self.root / bucket / key


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it."""
    from tests.servers.pki import Authority, write_cert, write_key

    directory.mkdir(parents=True, exist_ok=True)
    ca = Authority.create("glov test CA")
    server_cert, server_key = ca.issue("127.0.0.1", ips=("127.0.0.1",))
    return TlsFiles(
        write_cert(directory / "ca.pem", ca.cert),
        write_cert(directory / "server.pem", server_cert),
        write_key(directory / "server.key", server_key),
    )


def start_s3_server(root: Path, *, port: int | None = None, tls: bool = False) -> S3Server:
    """Start a server over `root` (created if missing); TLS files go beside it."""
    tls_files = make_tls_files(root.parent / f"{root.name}-tls") if tls else None
    server = S3Server(root=root, port=port or free_port(), tls=tls_files)
    server.start()
    return server


@contextlib.contextmanager
def running_s3_server(
    tmp_dir: Path, *, port: int | None = None, tls: bool = False
) -> Iterator[S3Server]:
    server = start_s3_server(tmp_dir / "s3-root", port=port, tls=tls)
    try:
        yield server
    finally:
        server.stop()
