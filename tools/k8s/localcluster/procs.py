"""The component processes: started in their own session with one log each, found again by
their pid files, waited for, stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .constants import BIN, PROCESSES
from .host import ClusterError
from .layout import Paths

Say = Callable[[str], None]


def exe_of(name: str) -> str:
    """The binary of a component: ours in .tools/k8s/bin, else Debian's on PATH."""
    return str(BIN / name) if (BIN / name).exists() else shutil.which(name) or name


def alive(pid: int, exe: str) -> bool:
    """Whether PID runs EXE (not a zombie, not another program that got the pid)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    # An empty command line: a process between fork and exec, or exiting; its stat name
    # (the first 15 characters of the executable's name) still tells whose it is.
    comm = stat.split("(", 1)[1].rsplit(")", 1)[0]
    name = Path(cmd).name if cmd else comm
    return state != "Z" and Path(exe).name[:15].startswith(name[:15])


class Processes:
    """The component processes of the cluster at PATHS."""

    def __init__(self, paths: Paths):
        self.paths = paths

    def pid(self, name: str) -> int | None:
        f = self.paths.pids / f"{name}.pid"
        if not f.exists():
            return None
        try:
            pid = int(f.read_text().split()[0])
        except (ValueError, IndexError):
            return None
        return pid if alive(pid, exe_of(name)) else None

    def running(self) -> list[str]:
        return [p for p in PROCESSES if self.pid(p) is not None]

    def start(self, name: str, args: list[str]) -> int:
        logs, pids = self.paths.logs, self.paths.pids
        logs.mkdir(parents=True, exist_ok=True)
        pids.mkdir(parents=True, exist_ok=True)
        exe = exe_of(name)
        logf = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        logf.write(f"\n==== {time.strftime('%F %T')} {exe} {' '.join(args)}\n".encode())
        logf.flush()
        p = subprocess.Popen(
            [exe, *args],
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(os.environ),
            cwd=self.paths.dir,
        )
        logf.close()
        (pids / f"{name}.pid").write_text(f"{p.pid}\n")
        return p.pid

    def log_of(self, name: str) -> Path:
        return self.paths.logs / f"{name}.log"

    def log_tail(self, name: str, n: int = 25) -> str:
        f = self.log_of(name)
        if not f.exists():
            return "(no log)"
        lines = f.read_text(errors="replace").splitlines()
        return "\n".join("    " + ln for ln in lines[-n:])

    def wait(self, what: str, proc: str, check: Callable[[], bool], timeout: float) -> None:
        """Waits until check() is true; fails with the process's log when it dies or times out."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.pid(proc) is None:
                raise ClusterError(
                    f"{proc} exited while waiting for {what}; its log "
                    f"({self.log_of(proc)}):\n{self.log_tail(proc)}"
                )
            try:
                if check():
                    return
            except Exception as exc:
                last = exc
            time.sleep(0.25)
        raise ClusterError(
            f"timed out after {timeout:.0f} s waiting for {what} (last error: {last}); "
            f"log of {proc} ({self.log_of(proc)}):\n{self.log_tail(proc)}"
        )

    def stop(self, name: str, say: Say) -> None:
        """SIGTERM to the process group, SIGKILL after 15 s."""
        pid = self.pid(name)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.pid(name) is not None:
            time.sleep(0.1)
        if self.pid(name) is not None:
            say(f"{name} ignored SIGTERM for 15 s: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while self.pid(name) is not None:
                time.sleep(0.1)
        (self.paths.pids / f"{name}.pid").unlink(missing_ok=True)
