"""A script model as a child process: `python ENTRY ARGS...` in its bundle's directory, with
this worker's Python (so `import simlab` works in it).

Its stdout and stderr pass through to the worker's own (they are the job's logs); the last
lines are kept for the failure report. The file simlab.report() appends to is read as it grows.
The child stays in the worker's process group, so a launcher that kills the group kills it
too."""

from __future__ import annotations

import collections
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from simlab_worker.core.ports import Script, ScriptExit

log = logging.getLogger("worker")

TAIL_LINES = 50


class SubprocessScripts:
    def __init__(self, *, poll_s: float = 0.1, grace_s: float = 10.0) -> None:
        # How often the report file is read and poll() asked whether to stop.
        self.poll_s = poll_s
        # How long a stopped script may take to exit after SIGTERM before it is killed.
        self.grace_s = grace_s

    def run(self, script: Script, poll: Callable[[Sequence[str]], bool]) -> ScriptExit:
        script.report_file.write_bytes(b"")
        reports = _Tail(script.report_file)
        output = _Output(TAIL_LINES)
        child = subprocess.Popen(
            [sys.executable, script.entry, *script.args],
            cwd=script.directory,
            env=child_environment(os.environ, script),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdout is not None and child.stderr is not None
        pumps = [
            output.pump(child.stdout, sys.stdout),
            output.pump(child.stderr, sys.stderr),
        ]
        stopped = False
        try:
            while not _exited(child, self.poll_s):
                if poll(reports.new_lines()):
                    stopped = True
                    self._stop(child)
            for pump in pumps:
                # A process the script left behind may hold its output open: do not wait on it.
                pump.join(self.grace_s)
            if not stopped:
                poll(reports.new_lines())
        finally:
            # poll() raised (the job store refused or is gone): the script must not outlive us.
            if child.poll() is None:
                child.kill()
                child.wait()
        return ScriptExit(child.returncode, output.tail(), stopped)

    def _stop(self, child: subprocess.Popen[bytes]) -> None:
        log.info("stopping the script", extra={"pid": child.pid})
        child.terminate()
        try:
            child.wait(self.grace_s)
        except subprocess.TimeoutExpired:
            log.warning("the script ignored SIGTERM; killing it", extra={"pid": child.pid})
            child.kill()
            child.wait()


def child_environment(environ: Mapping[str, str], script: Script) -> dict[str, str]:
    """The worker's environment less its own settings (the job token is not the script's),
    plus the seed and what simlab.params() and simlab.report() read, and unbuffered output
    so the logs follow the script as it runs."""
    env = {k: v for k, v in environ.items() if not k.startswith("SIMLAB_WORKER_")}
    env.update(
        SIMLAB_PARAMS=script.params_json,
        SIMLAB_SEED=str(script.seed),
        SIMLAB_OUTPUT_DIR=str(script.output_dir),
        SIMLAB_REPORT_FILE=str(script.report_file),
        PYTHONUNBUFFERED="1",
    )
    return env


def _exited(child: subprocess.Popen[bytes], timeout_s: float) -> bool:
    try:
        child.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return False
    return True


class _Output:
    """Copies the child's streams through, line by line, keeping the last lines of both."""

    def __init__(self, lines: int) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=lines)
        self._lock = threading.Lock()

    def pump(self, source: IO[bytes], sink: IO[str]) -> threading.Thread:
        def copy() -> None:
            for raw in iter(source.readline, b""):
                line = raw.decode(errors="replace")
                sink.write(line)
                sink.flush()
                with self._lock:
                    self._lines.append(line.rstrip("\n"))
            source.close()

        thread = threading.Thread(target=copy, daemon=True)
        thread.start()
        return thread

    def tail(self) -> str:
        with self._lock:
            return "\n".join(self._lines)


class _Tail:
    """The complete lines appended to a file since the last call."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._partial = b""

    def new_lines(self) -> list[str]:
        try:
            with self._path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return []  # the script removed or replaced it: nothing more to read
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        return [line.decode(errors="replace") for line in lines]
