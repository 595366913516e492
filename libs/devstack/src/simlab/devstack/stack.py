"""The embedded stack: PostgreSQL, NATS JetStream, jobstore, runner (local workers) and
gateway on one machine, all state under one directory. `make run` and the end-to-end tests
start it the same way; tests also kill and restart single services through it.

The object store is a local directory shared by the gateway, the job store and the runner
(or the S3 store the SIMLAB_S3_* variables name, e.g. `make minio`'s); workers get none: they
read code and write results through the job store.

Nobody is signed in without a token, locally too: the state directory (0700) holds `token`
(0600), the local user's bearer token that the client and CLI find in `.simlab/token`, and
`secrets.json` (0600) with the platform's own secrets; a browser signs in with a one-time
link (`login_link()`, `simlab login --web`)."""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

from simlab.client import Client
from simlab.devstack.files import private_dir, write_private
from simlab.devstack.servers import NATS_USERS, Nats, Postgres, start_nats, start_postgres

SERVICES = ("jobstore", "runner", "gateway")
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # A service must not outlive a supervisor that was killed outright.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_serving(target: str, timeout: float) -> None:
    """Waits until a gRPC health check at `target` answers SERVING."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{target} did not become healthy in {timeout:.0f} s")
            time.sleep(0.05)


def kill_tree(pid: int) -> None:
    """SIGKILL to a process and all its descendants at once, and waits until they are gone."""
    try:
        root = psutil.Process(pid)
        victims = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for victim in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.kill()
    psutil.wait_procs(victims, timeout=30)


@dataclass
class Stack:
    state_dir: Path
    port: int = 8080
    # Where service output goes: None = this process's stdout/stderr (make run).
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # "local" (worker processes) or "kubernetes" (the cluster of `make cluster-up`, whose
    # state lives under kube_state_dir/k8s).
    launcher: str = "local"
    kube_state_dir: Path | None = None
    # Whom the local token signs in (default: the login name).
    user: str = field(default_factory=getpass.getuser)
    postgres: Postgres | None = None
    nats: Nats | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state_dir = private_dir(self.state_dir.resolve())
        self.jobstore_port = free_port()
        self.secrets = self._secrets()
        self.token = self._token()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jobstore_target(self) -> str:
        return f"127.0.0.1:{self.jobstore_port}"

    def _secrets(self) -> dict[str, str]:
        """Kept across restarts, so that running workers' tokens and browser sessions stay
        valid; one missing (a state dir of an older version) is added."""
        path = self.state_dir / "secrets.json"
        values = dict(json.loads(path.read_text())) if path.exists() else {}
        wanted = {
            "service_token": lambda: secrets.token_urlsafe(32),
            "job_token_secret": lambda: secrets.token_urlsafe(32),
            "session_secret": lambda: secrets.token_urlsafe(32),
            # Letters and digits, starting with a letter: nats-server parses a value it reads
            # from its environment, and this one must stay a string.
            **{f"nats_{user}_password": lambda: "n" + secrets.token_hex(24) for user in NATS_USERS},
        }
        missing = {key: make() for key, make in wanted.items() if key not in values}
        if missing:
            values.update(missing)
            write_private(path, json.dumps(values))
        return values

    @property
    def nats_passwords(self) -> dict[str, str]:
        """What start_nats needs to admit the services' NATS users (and no one else)."""
        return {user: self.secrets[f"nats_{user}_password"] for user in NATS_USERS}

    def nats_url_for(self, user: str) -> str:
        """The URL that connects to this stack's NATS as `user` (jobstore, runner, gateway)."""
        assert self.nats is not None
        return self.nats.url_for(user)

    def _token(self) -> str:
        """The local user's bearer token, kept across restarts."""
        path = self.state_dir / "token"
        if path.exists() and (token := path.read_text().strip()):
            return token
        token = secrets.token_urlsafe(32)
        write_private(path, token + "\n")
        return token

    def login_link(self) -> str:
        """A one-time link (valid 2 minutes) that signs a browser in as the local user."""
        with Client(self.url, token=self.token) as client:
            return client.login_link()

    def start(self, timeout: float = 60) -> None:
        if self.launcher == "kubernetes":
            self.runner_kube_env = self._kubernetes_runner_env()
        self.postgres = start_postgres(self.state_dir / "postgres")
        self.nats = start_nats(self.state_dir / "nats", passwords=self.nats_passwords)
        for name in SERVICES:
            self.start_service(name, timeout)

    def service_env(self, name: str) -> dict[str, str]:
        assert self.postgres is not None and self.nats is not None
        # Each service is the NATS user of its own name.
        common = {
            "SERVICE_TOKEN": self.secrets["service_token"],
            "NATS_URL": self.nats_url_for(name),
        }
        specific = {
            "jobstore": {
                "DATABASE_URL": self.postgres.uri,
                "LISTEN": self.jobstore_target,
                "JOB_TOKEN_SECRET": self.secrets["job_token_secret"],
                "OBJECTS_DIR": str(self.state_dir / "objects"),
            },
            "runner": {
                "JOBSTORE": self.jobstore_target,
                "JOB_TOKEN_SECRET": self.secrets["job_token_secret"],
                "STATE_DIR": str(self.state_dir / "runner"),
                "OBJECTS_DIR": str(self.state_dir / "objects"),
                "LAUNCHER": self.launcher,
                **(self.runner_kube_env if self.launcher == "kubernetes" else {}),
            },
            "gateway": {
                "LISTEN": f"127.0.0.1:{self.port}",
                "JOBSTORE": self.jobstore_target,
                "SESSION_SECRET": self.secrets["session_secret"],
                "OBJECTS_DIR": str(self.state_dir / "objects"),
            },
        }[name]
        prefix = f"SIMLAB_{name.upper()}_"
        env = {**os.environ, **{prefix + k: v for k, v in {**common, **specific}.items()}}
        env.update(self.extra_env)
        if name == "gateway":
            # The local user's token, and any others given (more users, for tests).
            more = env.get("SIMLAB_GATEWAY_TOKENS", "")
            env["SIMLAB_GATEWAY_TOKENS"] = ",".join(
                filter(None, [f"{self.token}={self.user}", more])
            )
        return env

    def _kubernetes_runner_env(self) -> dict[str, str]:
        """The runner's settings for the local cluster: its own ServiceAccount's kubeconfig,
        the worker image `make images` loaded, and the job store's address as pods see it
        (the one service they reach)."""
        from simlab.devstack.kube import (
            cluster_info,
            loaded_image,
            pod_reachable,
            runner_kubeconfig,
        )

        kube_dir = self.kube_state_dir or self.state_dir
        info = cluster_info(kube_dir)
        host = info["host_address"]
        kubeconfig = runner_kubeconfig(
            Path(info["kubeconfig"]), self.state_dir / "runner.kubeconfig"
        )
        return {
            "KUBECONFIG": str(kubeconfig),
            "WORKER_IMAGE": loaded_image("worker"),
            "WORKER_JOBSTORE": pod_reachable(self.jobstore_target, host),
            "IMAGE_PULL_POLICY": "Never",
        }

    def start_service(self, name: str, timeout: float = 60) -> None:
        out: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", f"simlab_{name}"],
            env=self.service_env(name),
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            # Own process group: Ctrl-C reaches the supervisor only, which stops services
            # in order.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        if out is not None:
            out.close()
        self.processes[name] = process
        try:
            if name == "jobstore":
                wait_serving(self.jobstore_target, timeout)
            elif name == "gateway":
                wait_serving(f"127.0.0.1:{self.port}", timeout)
        except TimeoutError:
            code = process.poll()
            raise RuntimeError(
                f"{name} did not start (exit code {code}); see its log"
                + (f" at {self.log_dir / (name + '.log')}" if self.log_dir else " above")
            ) from None
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start with code {process.returncode}")

    def kill(self, name: str) -> None:
        """kill -9, as a crash would."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def restart_postgres(self) -> None:
        """kill -9 of the database server and every backend (a crashed host or container),
        then a start on the same data directory: crash recovery, same socket, same URI."""
        assert self.postgres is not None and self.postgres.pid is not None
        kill_tree(self.postgres.pid)
        # What a supervisor does: start it again until it runs. pg_ctl itself once died of
        # SIGSEGV right after the kill on a loaded CI machine, before the server logged a line.
        for attempt in range(3):
            try:
                self.postgres = start_postgres(self.postgres.data_dir)
                return
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
                time.sleep(1)

    def restart_nats(self) -> None:
        """kill -9 of nats-server, then a start on the same port and JetStream store, so that
        the services' reconnect loops find it again."""
        assert self.nats is not None
        self.nats.kill()
        port = int(self.nats.url.rsplit(":", 1)[1])
        self.nats = start_nats(self.state_dir / "nats", port=port, passwords=self.nats_passwords)

    def stop_service(self, name: str, timeout: float = 20) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for name in reversed(SERVICES):
            self.stop_service(name)
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()
