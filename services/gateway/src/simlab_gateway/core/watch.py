"""Live feeds of one job: its events (WatchJob) and its workers' output (TailLogs). Each
joins the job's events (one bus subscription per job in this process, see core.fanout)
before it reads the job, so nothing falls between the snapshot and what follows. A job id is
checked before anything is subscribed to, and each caller holds a bounded number of feeds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

from simlab.common.errors import invalid
from simlab.transport.precision import shards_with_blocks
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.artifacts import CHUNK, files_job, job_prefix, log_shard
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.fanout import CoalescedReads, JobEventHub, Watcher
from simlab_gateway.core.ids import check_job_id
from simlab_gateway.core.logs import LogPiece
from simlab_gateway.core.ports import EventBus, JobStore, LogStream, Objects
from simlab_gateway.core.streams import StreamLimits

TERMINAL = frozenset({pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED})


class JobFeeds:
    def __init__(
        self,
        store: JobStore,
        events: EventBus,
        logs: LogStream,
        objects: Objects,
        limits: StreamLimits,
    ) -> None:
        self.hub = JobEventHub(events)
        self.snapshots = CoalescedReads(store.get_job)
        self.logs = logs
        self.objects = objects
        self.limits = limits

    async def watch(
        self, caller: Principal, job_id: str, after_seq: int
    ) -> AsyncGenerator[pb.JobEvent]:
        """A snapshot of the job (unless the caller has seen its seq), then each newer event,
        until the job ends."""
        owner = await caller.owner_for_job("WatchJob", check_job_id(job_id), self.snapshots.get)
        with self.limits.hold(caller):
            async with self._events(owner, job_id, after_seq) as events:
                async for event in events:
                    yield event

    async def until_ended(self, job_id: str) -> pb.Job:
        """The job once it has ended, read as the platform (a registration job is not its
        owner's to read)."""
        job = pb.Job()
        async with self._events("", job_id, after_seq=0) as events:
            async for event in events:
                job = event.job
        return job

    @contextlib.asynccontextmanager
    async def _events(
        self, owner: str, job_id: str, after_seq: int
    ) -> AsyncIterator[AsyncIterator[pb.JobEvent]]:
        """The job's events (see `_newer`) while the block runs. Handed over, not re-yielded:
        with 1,000 watchers every generator between an event and the wire costs each change
        1,000 more steps."""
        async with (
            self.hub.watch(job_id) as watcher,
            contextlib.aclosing(self._newer(owner, job_id, after_seq, watcher)) as newer,
        ):
            yield newer

    async def _newer(
        self, owner: str, job_id: str, last: int, watcher: Watcher, read: pb.Job | None = None
    ) -> AsyncGenerator[pb.JobEvent]:
        """A snapshot newer than `last` (`read`, if the caller has just read one), then each
        newer event until the job ends; a fresh snapshot whenever the watcher fell behind and
        its events were dropped."""
        while True:
            job = read if read is not None else await self.snapshots.get(owner, job_id)
            read = None
            if job.seq > last:
                yield pb.JobEvent(
                    job_id=job.job_id, seq=job.seq, kind=pb.EVENT_KIND_SNAPSHOT, job=job
                )
                last = job.seq
            if job.state in TERMINAL:
                return
            while (event := await watcher.next()) is not None:
                # A snapshot already covers anything at or before its seq.
                if event.seq <= last:
                    continue
                yield event
                last = event.seq
                if event.job.state in TERMINAL:
                    return

    async def tail_logs(
        self, caller: Principal, job_id: str, shard: int | None, follow: bool
    ) -> AsyncGenerator[LogPiece]:
        """An ended job's stored logs (each shard's, once the runner kept it), else the live
        stream: what it holds, then, with `follow`, new output until the job's is complete. A
        cache hit ran nothing: its logs are those of the run it reused."""
        owner = await caller.owner_for_job("TailLogs", check_job_id(job_id), self.snapshots.get)
        if shard is not None and shard < 0:
            raise invalid("shard", f"must be 0 or more, got {shard}")
        with self.limits.hold(caller):
            async with self.hub.watch(job_id) as watcher:
                job = await self.snapshots.get(owner, job_id)
                if files_job(job) != job.job_id:
                    # Read as the platform: a hit may reuse another user's run of a public
                    # model, which the caller may not read otherwise.
                    job = await self.snapshots.get("", files_job(job))
                if shard is not None and shard >= job.shards:
                    raise invalid("shard", f"run {job_id} has shards 0 to {job.shards - 1}")
                async for piece in self._logs(owner, job, shard, follow, watcher):
                    yield piece

    async def _logs(
        self, owner: str, job: pb.Job, shard: int | None, follow: bool, watcher: Watcher
    ) -> AsyncIterator[LogPiece]:
        if job.state in TERMINAL:
            stored = await self._stored_logs(job.job_id)
            # Shards past a run's stop may not have run: they need leave no log.
            needed = {shard} if shard is not None else set(range(shards_with_blocks(job)))
            if needed <= stored.keys():
                for number in sorted(needed if shard is not None else stored.keys()):
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
        newer = self._newer(owner, job.job_id, job.seq, watcher, read=job)
        until_ended = asyncio.create_task(_set_when_ended(newer, ended))
        try:
            async for piece in self.logs.tail(job.job_id, shard, follow, job_ended=ended.is_set):
                yield piece
        finally:
            until_ended.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await until_ended
            await newer.aclose()

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


async def _set_when_ended(events: AsyncIterator[pb.JobEvent], ended: asyncio.Event) -> None:
    async for _ in events:
        pass
    ended.set()
