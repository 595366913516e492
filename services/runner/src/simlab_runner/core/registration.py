"""Registration jobs: the sandboxed inspection of pushed code. They launch like a one-shard
run, but under limits a run does not have: a simulation has no time limit, while inspecting
code is short, so code that spins or hoards memory at import is stopped."""

from __future__ import annotations

from dataclasses import dataclass

from simlab.v1 import simulation_pb2 as pb


@dataclass(frozen=True)
class RegistrationLimits:
    # CPU seconds (a local worker's RLIMIT_CPU; a pod's deadline is twice that, wall-clock).
    cpu_s: int = 120
    # Address space of a local worker (RLIMIT_AS), in MiB; a pod has its memory limit.
    memory_mb: int = 2048

    @property
    def deadline_s(self) -> int:
        """Kubernetes bounds time, not CPU time: twice the CPU seconds leaves room for the
        pod's start and for waiting on the job store."""
        return 2 * self.cpu_s


DEFAULT_LIMITS = RegistrationLimits()


def is_registration(job: pb.Job) -> bool:
    return job.kind == pb.JOB_KIND_REGISTRATION
