"""Live feeds of one job: its events (WatchJob) and its workers' output (TailLogs). Each
subscribes to the job's events before it reads the job, so nothing falls between the snapshot
and what follows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.artifacts import CHUNK, job_prefix, log_shard
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.logs import LogPiece
from simlab_gateway.core.ports import EventBus, JobStore, LogStream, Objects

TERMINAL = frozenset({pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED})


class JobFeeds:
    def __init__(
        self, store: JobStore, events: EventBus, logs: LogStream, objects: Objects
    ) -> None:
        self.store = store
        self.events = events
        self.logs = logs
        self.objects = objects

    async def watch(
        self, caller: Principal, job_id: str, after_seq: int
    ) -> AsyncIterator[pb.JobEvent]:
        """A snapshot of the job (unless the caller has seen its seq), then each newer event,
        until the job ends."""
        owner = caller.owner_for("WatchJob", job_id)
        async with contextlib.aclosing(self._events(owner, job_id, after_seq)) as events:
            async for event in events:
                yield event

    async def until_ended(self, job_id: str) -> pb.Job:
        """The job once it has ended, read as the platform (a registration job is not its
        owner's to read)."""
        job = pb.Job()
        async with contextlib.aclosing(self._events("", job_id, after_seq=0)) as events:
            async for event in events:
                job = event.job
        return job

    async def _events(self, owner: str, job_id: str, after_seq: int) -> AsyncGenerator[pb.JobEvent]:
        async with self.events.subscribe(job_id) as live:
            job = await self.store.get_job(owner, job_id)
            last = after_seq
            if job.seq > last:
                yield pb.JobEvent(
                    job_id=job.job_id, seq=job.seq, kind=pb.EVENT_KIND_SNAPSHOT, job=job
                )
                last = job.seq
            if job.state in TERMINAL:
                return
            async for event in live:
                # The snapshot already covers anything at or before its seq.
                if event.seq <= last:
                    continue
                yield event
                last = event.seq
                if event.job.state in TERMINAL:
                    return

    async def tail_logs(
        self, caller: Principal, job_id: str, shard: int | None, follow: bool
    ) -> AsyncIterator[LogPiece]:
        """An ended job's stored logs (each shard's, once the runner kept it), else the live
        stream: what it holds, then, with `follow`, new output until the job's is complete."""
        owner = caller.owner_for("TailLogs", job_id)
        async with self.events.subscribe(job_id) as live:
            job = await self.store.get_job(owner, job_id)
            if job.state in TERMINAL:
                stored = await self._stored_logs(job.job_id)
                wanted = {shard} if shard is not None else set(range(job.shards))
                if wanted <= stored.keys():
                    for number in sorted(wanted):
                        async for piece in self._read_log(number, stored[number]):
                            yield piece
                    return
                # The runner stores a shard's log just after its process ends, which can be a
                # moment after the job ended: until then the live stream has the output.
                async for piece in self.logs.tail(
                    job.job_id, shard, follow=True, job_ended=lambda: True
                ):
                    yield piece
                return
            ended = asyncio.Event()
            watcher = asyncio.create_task(_set_when_terminal(live, ended))
            try:
                async for piece in self.logs.tail(
                    job.job_id, shard, follow, job_ended=ended.is_set
                ):
                    yield piece
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _stored_logs(self, job_id: str) -> dict[int, str]:
        """shard -> the key of the log the runner kept when that shard ended."""
        prefix = job_prefix(job_id)
        found = await asyncio.to_thread(self.objects.list, f"{prefix}logs")
        return {
            number: info.key
            for info in found
            if (number := log_shard(info.key.removeprefix(prefix))) is not None
        }

    async def _read_log(self, shard: int, key: str) -> AsyncIterator[LogPiece]:
        chunks = self.objects.iter_chunks(key, CHUNK)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield LogPiece(shard, chunk)


async def _set_when_terminal(live: AsyncIterator[pb.JobEvent], ended: asyncio.Event) -> None:
    async for event in live:
        if event.job.state in TERMINAL:
            ended.set()
            return
