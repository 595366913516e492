"""Starting, finding, waiting for and stopping processes, with ordinary programs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from localcluster.host import ClusterError
from localcluster.layout import Paths
from localcluster.procs import Processes, alive


def test_alive_tells_the_program_and_zombies_apart() -> None:
    sleep = shutil.which("sleep") or "/bin/sleep"
    p = subprocess.Popen([sleep, "30"])
    try:
        assert alive(p.pid, sleep)
        assert not alive(p.pid, "/usr/bin/etcd")
        p.kill()
        while alive(p.pid, sleep):  # a zombie until reaped: not alive
            pass
    finally:
        p.kill()
        p.wait()
    assert not alive(p.pid, sleep)


def test_start_find_and_stop(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    paths.dir.mkdir()
    procs = Processes(paths)
    pid = procs.start("sleep", ["30"])
    assert procs.pid("sleep") == pid
    assert (paths.pids / "sleep.pid").read_text() == f"{pid}\n"
    assert "sleep 30\n" in (paths.logs / "sleep.log").read_text()
    procs.stop("sleep", say=print)
    assert procs.pid("sleep") is None
    assert not (paths.pids / "sleep.pid").exists()
    assert procs.running() == []


def test_wait_fails_with_the_log_of_a_process_that_exits(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    paths.dir.mkdir()
    procs = Processes(paths)
    procs.start("sh", ["-c", "echo the reason it stopped; exit 1"])
    with pytest.raises(ClusterError, match=r"(?s)sh exited while waiting for it.*the reason"):
        procs.wait("it", "sh", lambda: False, timeout=30)


def test_wait_returns_once_the_check_passes(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    paths.dir.mkdir()
    procs = Processes(paths)
    procs.start("sleep", ["30"])
    calls = []

    def check() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("not yet")
        return True

    try:
        procs.wait("it", "sleep", check, timeout=30)
    finally:
        procs.stop("sleep", say=print)
    assert len(calls) == 3
