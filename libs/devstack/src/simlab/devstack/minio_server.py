"""Starts the pinned MinIO server (built by `make minio-bin` into .tools/bin) on a loopback
port with its data in a given directory. Used by the test fixtures and the benchmark."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def minio_binary(repo_root: Path) -> Path:
    """The pinned binary, built first when missing or of another version (a no-op otherwise)."""
    subprocess.run(["make", "--no-print-directory", "-s", "minio-bin"], cwd=repo_root, check=True)
    return repo_root / ".tools" / "bin" / "minio"


@dataclass
class MinioServer:
    binary: Path
    data_dir: Path
    port: int
    access_key: str = "simlab"
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, bucket: str) -> dict[str, str]:
        """The SIMLAB_S3_* variables that point a service at this server."""
        return {
            "SIMLAB_S3_ENDPOINT": self.url,
            "SIMLAB_S3_ACCESS_KEY": self.access_key,
            "SIMLAB_S3_SECRET_KEY": self.secret_key,
            "SIMLAB_S3_BUCKET": bucket,
        }

    def start(self, timeout: float = 30) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir.parent / f"{self.data_dir.name}.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "server",
                "--quiet",
                "--address",
                f"127.0.0.1:{self.port}",
                self.data_dir,
            ],
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(self.data_dir.parent),  # MinIO keeps ~/.minio/certs there
                "MINIO_ROOT_USER": self.access_key,
                "MINIO_ROOT_PASSWORD": self.secret_key,
                "MINIO_BROWSER": "off",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self._live():
            if self.process.poll() is not None:
                raise RuntimeError(f"minio exited with {self.process.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"minio not live on {self.url} after {timeout} s; see {log.name}"
                )
            time.sleep(0.05)

    def _live(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/minio/health/live", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def kill(self) -> None:
        """Stops it the way a crash would: open connections drop mid-transfer."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_minio(binary: Path, data_dir: Path, attempts: int = 3) -> MinioServer:
    """A new server on a free loopback port; restart it with stop() then start()."""
    for attempt in range(1, attempts + 1):
        server = MinioServer(binary, data_dir.resolve(), _free_port())
        try:
            server.start()
            return server
        except RuntimeError:
            # Most likely another process took the port between our probe and MinIO's bind.
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
