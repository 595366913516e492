"""The runner's ports, implemented in adapters/: the job store it reports to, the events it
acts on, the launcher that runs workers (local processes or Kubernetes Jobs, both running the
same worker entrypoint, one process or pod per shard) and the live log it ships output to."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from simlab.v1 import simulation_pb2 as pb


class JobStore(Protocol):
    async def get_job(self, job_id: str) -> pb.Job: ...

    async def report(
        self,
        job_id: str,
        state: pb.JobState,
        reason: str = "",
        error: pb.JobError | None = None,
    ) -> pb.Job:
        """Records the job's new state; returns the job as it now is (a refused transition
        raises FAILED_PRECONDITION)."""
        ...

    async def active_jobs(self, states: Iterable[pb.JobState], study_id: str = "") -> list[pb.Job]:
        """The jobs in those states, oldest first; with `study_id`, that study's points
        alone, in index order."""
        ...


@dataclass(frozen=True)
class StudyQueued:
    """A study's points were queued: one event for all of them, not one per point."""

    study_id: str


Event = pb.JobEvent | StudyQueued
EventHandler = Callable[[Event], Awaitable[None]]


class JobEvents(Protocol):
    """The "job queued", "cancel requested" and "study queued" events, delivered until
    handled."""

    async def run(self, handle: EventHandler, stop: asyncio.Event) -> None:
        """Hands each event to `handle` until `stop` is set. An event is done with once
        `handle` returns or the job store refused what it did; one it raised on otherwise
        (the job store away, ...) comes again later."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class ShardExit:
    job_id: str
    shard: int
    # None when the process was not ours to reap (adopted after a restart): cause unknown.
    exit_code: int | None
    # Why, in words a user understands ("killed by SIGKILL", "OOMKilled", ...).
    reason: str
    log_tail: str
    # Launches of this shard so far, this one included.
    attempts: int


ExitHandler = Callable[[ShardExit], Awaitable[None]]
# (job_id, message, log_tail): the launcher knows the run cannot succeed.
FailureHandler = Callable[[str, str, str], Awaitable[None]]
# (job_id, shard, output): a shard's output, kept with the job's results.
LogSink = Callable[[str, int, bytes], Awaitable[None]]


class LiveLog(Protocol):
    """Where a shard's output goes while it runs, for TailLogs to follow. The local launcher
    ships its log files here; the Kubernetes launcher follows each pod's log."""

    async def publish(self, job_id: str, shard: int, data: bytes) -> None:
        """New output of the shard, in order."""
        ...

    async def end(self, job_id: str, shard: int) -> None:
        """The shard's process is gone; everything it wrote was published."""
        ...


class Launcher(Protocol):
    async def launch(self, job: pb.Job, parallelism: int) -> None:
        """Starts shards of the job that have no live process and have not finished, so that
        up to `parallelism` run at once (the next ones start as running ones finish: the
        runner launches again, or Kubernetes does), each with a token of its own
        (adapters.worker_tokens), renewed while it runs. Idempotent: launching a launched job
        changes nothing."""
        ...

    async def resume(self, job: pb.Job, parallelism: int) -> str | None:
        """After a restart, for a job the store has as LAUNCHING or RUNNING: starts what is
        missing, or returns why the job cannot go on (it then fails with that reason)."""
        ...

    async def stop(self, job_id: str) -> None:
        """Stops every process of the job; returns once they are all gone."""
        ...

    async def adopt(self) -> dict[str, set[int]]:
        """After a restart: the live shards of every job found, now watched again."""
        ...

    def live_shards(self, job_id: str) -> int:
        """How many of the job's worker processes are still alive (a shard that finished the
        job exits a moment after the job ended): their workers are still in use."""
        ...

    async def forget(self, job_id: str) -> None:
        """Drops what is kept about a finished job (after its logs were saved)."""
        ...

    async def close(self, stop_workers: bool = False) -> None:
        """Stops watching. Running workers are left to finish, unless `stop_workers` (a
        launcher whose workers are local processes stops them on a clean shutdown)."""
        ...
