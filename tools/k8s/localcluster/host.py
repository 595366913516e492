"""The host: running commands, the prerequisites of `up`, sysctls and small file helpers."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from .constants import DEBIAN


class ClusterError(Exception):
    """A failure with a message that says what to do."""


def log(msg: str) -> None:
    print(f"k8s: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    p = subprocess.run(cmd, **kw)
    if check and p.returncode != 0:
        out = ((p.stderr or "") + (p.stdout or "")).strip()
        raise ClusterError(f"{' '.join(map(str, cmd))} failed (exit {p.returncode}): {out[-2000:]}")
    return p


def have(cmd: str) -> bool:
    return os.access(cmd, os.X_OK) if cmd.startswith("/") else shutil.which(cmd) is not None


def preflight() -> None:
    if os.geteuid() != 0:
        raise ClusterError(
            "the kubelet and containerd need root (mounts, cgroups, network namespaces): "
            "run 'make cluster-up' as root"
        )
    for d in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/pids"):
        if not Path(d).is_dir() and not Path("/sys/fs/cgroup/cgroup.controllers").exists():
            raise ClusterError(
                f"no cgroup hierarchy at {d}: the kubelet needs the memory, cpu and pids cgroups"
            )
    missing = sorted({pkg for cmd, pkg in DEBIAN.items() if not have(cmd)})
    if missing:
        if not shutil.which("apt-get"):
            raise ClusterError(
                f"missing Debian packages {' '.join(missing)}; install them and run again"
            )
        log(f"installing {' '.join(missing)} with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", *missing], env=env)
        still = sorted(cmd for cmd in DEBIAN if not have(cmd))
        if still:
            raise ClusterError(f"still missing after apt-get install: {' '.join(still)}")


def read_sysctl(key: str) -> str | None:
    try:
        return Path("/proc/sys", *key.split(".")).read_text().strip()
    except OSError:
        return None


def write_sysctl(key: str, value: str) -> None:
    with contextlib.suppress(OSError):
        Path("/proc/sys", *key.split(".")).write_text(value + "\n")


def rm_rf(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
