"""What the runner does about what it sees: pure functions, unit-tested."""

from __future__ import annotations

import signal
from dataclasses import dataclass

from simlab.v1 import simulation_pb2 as pb

# The worker's exit codes (see simlab_worker): the worker itself reported why.
EXIT_OK = 0
EXIT_MODEL_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_STORE_UNREACHABLE = 3

TERMINAL = frozenset({pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED})
ACTIVE = (
    pb.JOB_STATE_QUEUED,
    pb.JOB_STATE_LAUNCHING,
    pb.JOB_STATE_RUNNING,
    pb.JOB_STATE_CANCELLING,
)
# A shard whose process vanishes for unknown reasons is relaunched this many times at most.
MAX_ATTEMPTS = 3
# What a signal that ended a worker most likely means.
SIGNAL_HINTS: dict[int, str] = {
    signal.SIGKILL: " (out of memory?)",
    # Sent at a registration worker's CPU-time limit.
    signal.SIGXCPU: " (CPU time limit reached)",
}


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = SIGNAL_HINTS.get(-code, "")
        return f"killed by {name}{hint}"
    return {
        EXIT_MODEL_FAILED: "the model raised an exception",
        EXIT_BAD_INPUT: "the job's model or parameters were rejected",
        EXIT_STORE_UNREACHABLE: "the job store was unreachable",
    }.get(code, f"exited with code {code}")


@dataclass(frozen=True)
class Fail:
    message: str


@dataclass(frozen=True)
class Relaunch:
    shard: int


@dataclass(frozen=True)
class Nothing:
    pass


Decision = Fail | Relaunch | Nothing


def on_shard_exit(
    state: pb.JobState, shard: int, exit_code: int | None, reason: str, attempts: int
) -> Decision:
    """A shard's process has gone; `attempts` counts its launches so far."""
    if state in TERMINAL or state == pb.JOB_STATE_CANCELLING or exit_code == EXIT_OK:
        return Nothing()
    if exit_code is None or exit_code == -signal.SIGKILL:
        # Lost while nobody watched (runner restart), or killed from outside (kill -9, a lost
        # node, the OOM killer): the work resumes from recorded blocks, so a relaunch
        # reproduces the same result. Whatever kills it every time fails the job in the end.
        if attempts < MAX_ATTEMPTS:
            return Relaunch(shard)
        if exit_code is None:
            return Fail(f"shard {shard} was lost {attempts} times; giving up")
        return Fail(f"shard {shard} {reason}, {attempts} times; giving up")
    # The worker reports model errors and bad input itself (that report wins in the job
    # store); this message covers crashes it could not report.
    return Fail(f"shard {shard} {reason}")
