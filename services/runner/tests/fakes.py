"""Fakes of the runner's ports, for the tests of its logic: the job store's rules in short, and
a launcher that records what it is asked; for the local launcher's tests, a recorder of its
outside world."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.adapters.local_launcher import LocalProcessLauncher
from simlab_runner.adapters.worker_tokens import WorkerTokens
from simlab_runner.core.decisions import TERMINAL
from simlab_runner.core.ports import ShardExit
from simlab_runner.core.registration import DEFAULT_LIMITS, RegistrationLimits

QUEUED, LAUNCHING, RUNNING = pb.JOB_STATE_QUEUED, pb.JOB_STATE_LAUNCHING, pb.JOB_STATE_RUNNING
CANCELLING, CANCELLED = pb.JOB_STATE_CANCELLING, pb.JOB_STATE_CANCELLED
SUCCEEDED, FAILED = pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED
# How far along a state is, as the job store's state machine orders them.
RANK = {QUEUED: 0, LAUNCHING: 1, RUNNING: 2, CANCELLING: 3, SUCCEEDED: 4, FAILED: 4, CANCELLED: 4}

Call = tuple[str, ...]


class FakeJobStore:
    """Jobs in memory, with the job store's rules in short: a report that moves a job forward
    is applied, a late one is ignored (the job comes back as it is), an ended job refuses any
    change (FAILED_PRECONDITION)."""

    def __init__(self, calls: list[Call], *jobs: pb.Job) -> None:
        self.calls = calls
        self.jobs = {job.job_id: job for job in jobs}
        self.errors: dict[str, pb.JobError] = {}
        self.unavailable = False

    async def get_job(self, job_id: str) -> pb.Job:
        return _copy(self.jobs[job_id])

    async def report(
        self,
        job_id: str,
        state: pb.JobState,
        reason: str = "",
        error: pb.JobError | None = None,
    ) -> pb.Job:
        if self.unavailable:
            raise SimlabError(Code.UNAVAILABLE, "the job store is restarting")
        self.calls.append(("report", job_id, pb.JobState.Name(state), reason))
        job = self.jobs[job_id]
        if job.state in TERMINAL and state != job.state:
            raise SimlabError(Code.FAILED_PRECONDITION, f"job {job_id} already ended")
        if RANK[state] > RANK[job.state]:
            job.state = state
            if error is not None:
                self.errors[job_id] = error
        return _copy(job)

    async def active_jobs(self, states: Iterable[pb.JobState], study_id: str = "") -> list[pb.Job]:
        wanted = set(states)
        if not study_id:
            self.calls.append(("active_jobs",))
            return [_copy(job) for job in self.jobs.values() if job.state in wanted]
        self.calls.append(("active_jobs", study_id))
        points = [j for j in self.jobs.values() if j.study_id == study_id and j.state in wanted]
        return [_copy(job) for job in sorted(points, key=lambda job: job.study_point)]


class FakeLauncher:
    def __init__(
        self,
        calls: list[Call],
        live: dict[str, set[int]] | None = None,
        problems: dict[str, str] | None = None,
        launch_error: Exception | None = None,
    ) -> None:
        self.calls = calls
        self.live = live or {}
        self.problems = problems or {}
        self.launch_error = launch_error
        # The shards whose processes are alive, by job.
        self.running: dict[str, set[int]] = {}
        # The parallelism of each job's latest launch or resume.
        self.parallelism: dict[str, int] = {}

    async def launch(self, job: pb.Job, parallelism: int) -> None:
        self.calls.append(("launch", job.job_id))
        self.parallelism[job.job_id] = parallelism
        if self.launch_error is not None:
            raise self.launch_error

    async def resume(self, job: pb.Job, parallelism: int) -> str | None:
        self.calls.append(("resume", job.job_id))
        self.parallelism[job.job_id] = parallelism
        return self.problems.get(job.job_id)

    async def stop(self, job_id: str) -> None:
        self.calls.append(("stop", job_id))

    async def adopt(self) -> dict[str, set[int]]:
        self.calls.append(("adopt",))
        return self.live

    def live_shards(self, job_id: str) -> int:
        return len(self.running.get(job_id, ()))

    async def forget(self, job_id: str) -> None:
        self.calls.append(("forget", job_id))

    async def close(self, stop_workers: bool = False) -> None:
        self.calls.append(("close",))


def _copy(job: pb.Job) -> pb.Job:
    copy = pb.Job()
    copy.CopyFrom(job)
    return copy


class Recorder:
    """The launcher's outside world: exits, stored logs, and a live log nobody reads."""

    def __init__(self) -> None:
        self.exits: list[ShardExit] = []
        self.logs: dict[tuple[str, int], bytes] = {}
        self.ended = asyncio.Event()

    async def on_exit(self, exit_: ShardExit) -> None:
        self.exits.append(exit_)
        self.ended.set()

    async def store_log(self, job_id: str, shard: int, data: bytes) -> None:
        self.logs[(job_id, shard)] = data

    async def publish(self, job_id: str, shard: int, data: bytes) -> None:
        pass

    async def end(self, job_id: str, shard: int) -> None:
        pass

    def launcher(
        self,
        tmp_path: Path,
        command: tuple[str, ...],
        limits: RegistrationLimits = DEFAULT_LIMITS,
        token_ttl_s: float = 3600,
    ) -> LocalProcessLauncher:
        """A launcher of `command` as every worker, reporting here."""
        return LocalProcessLauncher(
            tmp_path / "state",
            {"PATH": "/usr/bin:/bin"},
            self.on_exit,
            self.store_log,
            self,
            WorkerTokens(SECRET, token_ttl_s),
            registration=limits,
            command=command,
        )


SECRET = "secret"
