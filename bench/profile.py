"""Where a benchmark's time goes: `python -m bench --profile DIR` records every running service
process (gateway, job store, runner) with py-spy during each phase of the chosen sections, and
counts the CPU every part of the stack spent in it (the services, PostgreSQL, NATS, the
benchmark's own clients). It writes DIR/PHASE-SERVICE.svg (flame graphs) and DIR/cpu.txt: CPU
ms per call by process where the phase knows its calls, CPU seconds otherwise.

A section is one phase; a section may split itself into finer ones (`phase(name, calls)`, as
the submit section does per path): the finer phases then take the flame graphs."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import cpu_seconds
from simlab.devstack.stack import Stack

PY_SPY = Path(sys.executable).parent / "py-spy"


@dataclass
class _Recording:
    path: Path
    process: subprocess.Popen[bytes]


@dataclass
class _Phase:
    name: str
    calls: int | None
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    recordings: list[_Recording] = field(default_factory=list)


class Profiler:
    def __init__(self, stack: Stack, out_dir: Path) -> None:
        self.stack = stack
        self.out_dir = out_dir
        self.done: list[_Phase] = []
        self._open: list[_Phase] = []
        out_dir.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def phase(self, name: str, calls: int | None = None) -> Iterator[None]:
        if self._open:
            # The finer phase takes the flame graphs; the outer one keeps its CPU count.
            _discard(self._open[-1].recordings)
        phase = _Phase(name, calls, recordings=self._record(name))
        self._open.append(phase)
        pids, before, started = self._pids(), cpu_seconds(self.stack), time.perf_counter()
        try:
            yield
        finally:
            phase.seconds = time.perf_counter() - started
            after = cpu_seconds(self.stack)
            # A service restarted meanwhile (the runner, by the submit section) counts from 0.
            restarted = {part for part, pid in self._pids().items() if pids.get(part) != pid}
            phase.cpu = {
                part: after[part] - (0.0 if part in restarted else before.get(part, 0.0))
                for part in after
            }
            _finish(phase.recordings)
            self._open.pop()
            self.done.append(phase)

    def _pids(self) -> dict[str, int]:
        return {service: process.pid for service, process in self.stack.processes.items()}

    def _record(self, phase: str) -> list[_Recording]:
        recordings = []
        for service, process in self.stack.processes.items():
            if process.poll() is not None:
                continue
            path = self.out_dir / f"{_slug(phase)}-{service}.svg"
            command = [str(PY_SPY), "record", "--pid", str(process.pid), "--output", str(path)]
            # Sampled without pausing the service: its timing stays what is measured.
            command += ["--nonblocking", "--rate", "100"]
            recorder = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            recordings.append(_Recording(path, recorder))
        return recordings

    def table(self) -> str:
        parts = sorted({part for phase in self.done for part in phase.cpu})
        lines = [
            "CPU by process: ms per call (calls known) or s (in brackets: the whole phase)",
            f"{'phase':<24} {'calls':>7} {'wall s':>7} {'calls/s':>8} "
            + " ".join(f"{part:>11}" for part in parts),
        ]
        for phase in self.done:
            if phase.calls:
                cells = [f"{phase.cpu.get(p, 0.0) * 1000 / phase.calls:>11.3f}" for p in parts]
                rate = f"{phase.calls / phase.seconds:>8.0f}"
            else:
                cells = [f"{'(' + format(phase.cpu.get(p, 0.0), '.2f') + ')':>11}" for p in parts]
                rate = f"{'':>8}"
            calls = phase.calls or ""
            lines.append(
                f"{phase.name:<24} {calls:>7} {phase.seconds:>7.1f} {rate} " + " ".join(cells)
            )
        svgs = sorted(path.name for path in self.out_dir.glob("*.svg"))
        return "\n".join([*lines, "", "flame graphs: " + ", ".join(svgs)]) + "\n"

    def write(self) -> Path:
        path = self.out_dir / "cpu.txt"
        path.write_text(self.table())
        return path


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", name).strip("-")


def _finish(recordings: list[_Recording]) -> None:
    """Stops the recorders: on SIGINT py-spy writes its flame graph, then exits."""
    for recording in recordings:
        recording.process.send_signal(signal.SIGINT)
    for recording in recordings:
        recording.process.wait(60)


def _discard(recordings: list[_Recording]) -> None:
    for recording in recordings:
        recording.process.kill()
        recording.process.wait()
        # A recorder whose service exited already wrote its (partial) graph.
        recording.path.unlink(missing_ok=True)
    recordings.clear()


_active: Profiler | None = None


@contextlib.contextmanager
def profiling(stack: Stack, out_dir: Path) -> Iterator[Profiler]:
    """Makes `phase` record, on `stack`, into `out_dir`, until the block ends."""
    global _active
    _active = Profiler(stack, out_dir)
    try:
        yield _active
    finally:
        _active = None


def phase(name: str, calls: int | None = None) -> contextlib.AbstractContextManager[None]:
    """A phase of the benchmark, profiled when `profiling` is on (otherwise nothing)."""
    return contextlib.nullcontext() if _active is None else _active.phase(name, calls)
