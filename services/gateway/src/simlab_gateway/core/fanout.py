"""Many watchers of one job in one gateway process, at the cost of one: one subscription to
the job's events on the bus, fanned out to a bounded queue per watcher, and the snapshot
reads of watchers that arrive together made once.

A watcher that falls behind (its client reads slower than the job changes) cannot hold up
the others: when its queue is full, what it holds is dropped and it is told so, and it reads
a fresh snapshot in place of what it missed. So does every watcher when the bus says events
may have been lost (it reconnected). Nothing is skipped silently."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.ports import EventBus

# Events a watcher may have waiting before it is given a fresh snapshot instead.
WATCHER_QUEUE = 64

log = logging.getLogger("gateway")


class Watcher:
    """One watcher's view of its job's events, from the moment it joined."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._events: deque[pb.JobEvent] = deque()
        self._lagged = False
        self._failure: SimlabError | None = None
        # What `next` waits on when nothing is queued: a bare future, the least a wake-up
        # costs (each change wakes every watcher).
        self._waiting: asyncio.Future[None] | None = None

    def offer(self, event: pb.JobEvent) -> None:
        """Never waits: a full queue is dropped and the watcher told it lags."""
        if len(self._events) >= self.capacity:
            self.missed()
        self._events.append(event)
        self._wake()

    def missed(self) -> None:
        """Events may have been lost here: what is queued is dropped (a snapshot read after
        this covers it) and the watcher told it lags."""
        self._events.clear()
        self._lagged = True
        self._wake()

    def fail(self, error: SimlabError) -> None:
        self._failure = error
        self._wake()

    def _wake(self) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(None)

    async def next(self) -> pb.JobEvent | None:
        """The next event; None when events were dropped: read a snapshot, then go on (what
        is still queued came after the drop, and the snapshot covers what is older)."""
        while True:
            if self._lagged:
                self._lagged = False
                return None
            if self._events:
                return self._events.popleft()
            if self._failure is not None:
                raise self._failure
            self._waiting = asyncio.get_running_loop().create_future()
            try:
                await self._waiting
            finally:
                self._waiting = None


@dataclass
class _JobSubscription:
    job_id: str
    watchers: set[Watcher] = field(default_factory=set)
    subscribed: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    pump: asyncio.Task[None] | None = None


class JobEventHub:
    """One bus subscription per job that has watchers here, shared by all of them."""

    def __init__(self, bus: EventBus, watcher_queue: int = WATCHER_QUEUE) -> None:
        self.bus = bus
        self.watcher_queue = watcher_queue
        self._jobs: dict[str, _JobSubscription] = {}

    def subscriptions(self) -> int:
        return len(self._jobs)

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[Watcher]:
        """A watcher of the job's events from the moment this returns (as the bus's own
        subscribe promises); UNAVAILABLE when the bus is away."""
        job = self._jobs.get(job_id)
        if job is None:
            job = self._jobs[job_id] = _JobSubscription(job_id)
            job.pump = asyncio.create_task(self._pump(job))
        watcher = Watcher(self.watcher_queue)
        job.watchers.add(watcher)
        try:
            await asyncio.shield(job.subscribed)
            yield watcher
        finally:
            job.watchers.discard(watcher)
            if not job.watchers:
                self._drop(job)

    def _drop(self, job: _JobSubscription) -> None:
        if self._jobs.get(job.job_id) is job:
            del self._jobs[job.job_id]
        if job.pump is not None:
            job.pump.cancel()

    async def _pump(self, job: _JobSubscription) -> None:
        try:
            async with self.bus.subscribe(job.job_id) as live:
                job.subscribed.set_result(None)
                async for event in live:
                    for watcher in job.watchers:
                        if event is None:
                            watcher.missed()
                        else:
                            watcher.offer(event)
            failure = SimlabError(Code.UNAVAILABLE, "event bus connection lost; retry shortly")
        except SimlabError as error:
            failure = error
        except Exception:
            # Whatever broke the subscription, its watchers must hear of it, not wait on.
            log.exception("job event subscription failed", extra={"job_id": job.job_id})
            failure = SimlabError(Code.UNAVAILABLE, "event bus unavailable; retry shortly")
        # The subscription is gone: its watchers fail (clients resume after their last seq)
        # and the next watcher of this job subscribes anew.
        if self._jobs.get(job.job_id) is job:
            del self._jobs[job.job_id]
        if not job.subscribed.done():
            job.subscribed.set_exception(failure)
            # Retrieved by the watchers waiting on it, if any are left.
            job.subscribed.exception()
        for watcher in job.watchers:
            watcher.fail(failure)


Key = tuple[str, str]


class CoalescedReads:
    """Reads of one (owner, job) made for many callers at once. A caller is served by a read
    that starts after it asked (a snapshot must be newer than the caller's subscription), so
    callers that arrive while a read is in flight wait for the next one and share it: at most
    one read in flight and one gathering per key."""

    def __init__(self, read: Callable[[str, str], Awaitable[pb.Job]]) -> None:
        self.read = read
        self._gathering: dict[Key, asyncio.Task[pb.Job]] = {}
        self._reading: dict[Key, asyncio.Task[pb.Job]] = {}

    async def get(self, owner: str, job_id: str) -> pb.Job:
        key = (owner, job_id)
        batch = self._gathering.get(key)
        if batch is None:
            batch = self._gathering[key] = asyncio.create_task(self._read(key))
            # Its failure is each waiting caller's; none may be left to see it.
            batch.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.shield(batch)

    async def _read(self, key: Key) -> pb.Job:
        ahead = self._reading.get(key)
        if ahead is not None:
            await asyncio.wait({ahead})
        # Who asks from now on may have asked after this read began: they gather anew.
        this = self._gathering.pop(key)
        self._reading[key] = this
        try:
            return await self.read(*key)
        finally:
            if self._reading.get(key) is this:
                del self._reading[key]
