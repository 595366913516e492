"""Many watchers of one job: one bus subscription for all, snapshot reads shared, a slow
watcher given a fresh snapshot instead of holding the others up, streams per caller bounded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from services.gateway.tests.fakes import FakeJobStore, FakeLogs, FakeObjects
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.fanout import CoalescedReads
from simlab_gateway.core.streams import StreamLimits
from simlab_gateway.core.watch import JobFeeds

ALICE = Principal("alice")
RUNNING, SUCCEEDED = pb.JOB_STATE_RUNNING, pb.JOB_STATE_SUCCEEDED


@dataclass
class LiveBus:
    """Events published after a subscription reach it, as on NATS."""

    subscribed: list[str] = field(default_factory=list)
    queues: dict[int, asyncio.Queue[pb.JobEvent | bool | None]] = field(default_factory=dict)
    store: FakeJobStore | None = None

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[pb.JobEvent | None]]:
        self.subscribed.append(job_id)
        # An event, None (events may have been lost) or False (the subscription ended).
        queue: asyncio.Queue[pb.JobEvent | bool | None] = asyncio.Queue()
        self.queues[id(queue)] = queue

        async def live() -> AsyncIterator[pb.JobEvent | None]:
            while (event := await queue.get()) is not False:
                assert event is not True
                yield event

        try:
            yield live()
        finally:
            del self.queues[id(queue)]

    def publish(self, event: pb.JobEvent) -> None:
        """Commits the change in the store first, as the job store's outbox does."""
        if self.store is not None:
            self.store.jobs["alice", event.job_id] = event.job
        for queue in self.queues.values():
            queue.put_nowait(event)

    def lose_connection(self) -> None:
        for queue in self.queues.values():
            queue.put_nowait(False)

    def reconnect(self) -> None:
        """What NATS does after an outage: the subscriptions go on, minus what was sent."""
        for queue in self.queues.values():
            queue.put_nowait(None)


def event(seq: int, state: pb.JobState = RUNNING) -> pb.JobEvent:
    job = pb.Job(job_id="job1", seq=seq, state=state, shards=1)
    return pb.JobEvent(job_id="job1", seq=seq, kind=pb.EVENT_KIND_PROGRESS, job=job)


def setup(limit: int = 5000) -> tuple[JobFeeds, FakeJobStore, LiveBus]:
    store = FakeJobStore()
    store.add("alice", pb.Job(job_id="job1", seq=1, state=RUNNING, shards=1))
    bus = LiveBus(store=store)
    feeds = JobFeeds(store, bus, FakeLogs(), FakeObjects(), StreamLimits(limit, "MAX_STREAMS"))
    return feeds, store, bus


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_a_thousand_watchers_share_one_subscription_and_one_or_two_reads() -> None:
    async def scenario() -> None:
        feeds, store, bus = setup()
        received: list[list[tuple[int, int]]] = [[] for _ in range(1000)]
        all_started = asyncio.Event()

        async def watch(index: int) -> None:
            async for item in feeds.watch(ALICE, "job1", after_seq=0):
                received[index].append((item.kind, item.seq))
                if all(received):
                    all_started.set()

        watchers = [asyncio.create_task(watch(i)) for i in range(1000)]
        await all_started.wait()
        for seq in range(2, 11):
            bus.publish(event(seq))
        bus.publish(event(11, SUCCEEDED))
        await asyncio.gather(*watchers)
        progress = [(pb.EVENT_KIND_PROGRESS, seq) for seq in range(2, 12)]
        expected = [(pb.EVENT_KIND_SNAPSHOT, 1), *progress]
        assert all(seen == expected for seen in received)
        assert bus.subscribed == ["job1"]
        # The first watcher's read, then one for all who came while it was made.
        assert store.calls.count("get_job") <= 2
        # The last one gone, so is the subscription.
        assert bus.queues == {} and feeds.hub.subscriptions() == 0

    run(scenario)


def test_a_watcher_that_does_not_read_gets_a_fresh_snapshot_and_holds_up_no_one() -> None:
    async def scenario() -> None:
        feeds, _, bus = setup()
        fast = feeds.watch(ALICE, "job1", after_seq=0)
        slow = feeds.watch(ALICE, "job1", after_seq=0)
        assert (await anext(fast)).seq == 1
        assert (await anext(slow)).seq == 1
        for seq in range(2, 202):
            bus.publish(event(seq))
            # The fast one sees each change as it comes; the slow one reads nothing.
            assert (await anext(fast)).seq == seq
        bus.publish(event(202, SUCCEEDED))
        rest = [(e.kind, e.seq) async for e in slow]
        # Its dropped events are covered by a snapshot at least as new, read after the drop;
        # what followed the drop comes after it, and it ends with the job.
        assert rest[0][0] == pb.EVENT_KIND_SNAPSHOT and rest[0][1] >= 200 - 64
        assert [seq for _, seq in rest] == list(range(rest[0][1], 203))
        assert [e.seq async for e in fast] == [202]

    run(scenario)


def test_after_the_bus_reconnects_every_watcher_reads_a_fresh_snapshot() -> None:
    async def scenario() -> None:
        feeds, store, bus = setup()
        watchers = [feeds.watch(ALICE, "job1", after_seq=0) for _ in range(3)]
        for watcher in watchers:
            assert (await anext(watcher)).seq == 1
        # Changes published while the gateway was away never reach it; the store has them.
        store.jobs["alice", "job1"] = pb.Job(job_id="job1", seq=5, state=RUNNING, shards=1)
        bus.reconnect()
        for watcher in watchers:
            snapshot = await anext(watcher)
            assert (snapshot.kind, snapshot.seq) == (pb.EVENT_KIND_SNAPSHOT, 5)
        bus.publish(event(6, SUCCEEDED))
        for watcher in watchers:
            assert [e.seq async for e in watcher] == [6]

    run(scenario)


def test_a_reader_is_never_served_by_a_read_that_began_before_it_asked() -> None:
    async def scenario() -> None:
        versions = iter(range(1, 100))
        started = asyncio.Event()
        proceed = asyncio.Event()

        async def read(owner: str, job_id: str) -> pb.Job:
            version = next(versions)
            started.set()
            await proceed.wait()
            return pb.Job(job_id=job_id, seq=version)

        reads = CoalescedReads(read)
        first = asyncio.create_task(reads.get("alice", "job1"))
        await started.wait()
        # Asked while read 1 is in flight: they share read 2.
        later = [asyncio.create_task(reads.get("alice", "job1")) for _ in range(50)]
        await asyncio.sleep(0.01)
        proceed.set()
        assert (await first).seq == 1
        assert {job.seq for job in await asyncio.gather(*later)} == {2}
        # Another owner's read is its own.
        assert (await reads.get("bob", "job1")).seq == 3

    run(scenario)


def test_a_failed_read_fails_its_callers_and_the_next_read_is_made_afresh() -> None:
    async def scenario() -> None:
        attempts = 0

        async def read(owner: str, job_id: str) -> pb.Job:
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                raise SimlabError(Code.UNAVAILABLE, "job store away")
            return pb.Job(job_id=job_id, seq=7)

        reads = CoalescedReads(read)
        with pytest.raises(SimlabError):
            await reads.get("alice", "job1")
        assert (await reads.get("alice", "job1")).seq == 7

    run(scenario)


def test_streams_beyond_the_callers_limit_are_refused_naming_the_setting() -> None:
    async def scenario() -> None:
        feeds, _, _ = setup(limit=2)
        held = [feeds.watch(ALICE, "job1", after_seq=0) for _ in range(2)]
        for stream in held:
            await anext(stream)
        with pytest.raises(SimlabError) as caught:
            await anext(feeds.watch(ALICE, "job1", after_seq=0))
        assert caught.value.code == Code.RESOURCE_EXHAUSTED
        assert "MAX_STREAMS" in caught.value.message and "2" in caught.value.message
        with pytest.raises(SimlabError):
            await anext(feeds.tail_logs(ALICE, "job1", shard=None, follow=True))
        # A share link's viewers, and other users, have their own allowance.
        link = Principal("alice", shared_job="job1")
        assert (await anext(feeds.watch(link, "job1", after_seq=0))).seq == 1
        # A stream that ends gives its place back.
        await held[0].aclose()
        assert feeds.limits.open_streams(ALICE) == 1
        assert (await anext(feeds.watch(ALICE, "job1", after_seq=0))).seq == 1

    run(scenario)


def test_a_lost_bus_connection_ends_every_watcher_with_unavailable() -> None:
    async def scenario() -> None:
        feeds, _, bus = setup()
        watchers = [feeds.watch(ALICE, "job1", after_seq=0) for _ in range(3)]
        for stream in watchers:
            await anext(stream)
        bus.lose_connection()
        for stream in watchers:
            with pytest.raises(SimlabError) as caught:
                await anext(stream)
            assert caught.value.code == Code.UNAVAILABLE
        # The next watcher subscribes anew.
        fresh = feeds.watch(ALICE, "job1", after_seq=0)
        assert (await anext(fresh)).seq == 1
        assert bus.subscribed == ["job1", "job1"]
        await fresh.aclose()

    run(scenario)


def test_a_subscription_that_breaks_unexpectedly_fails_its_watchers_with_unavailable() -> None:
    class BrokenBus(LiveBus):
        @contextlib.asynccontextmanager
        async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[pb.JobEvent | None]]:
            raise RuntimeError("connection reset")
            yield  # an async generator, as a subscription is

    async def scenario() -> None:
        store = FakeJobStore()
        store.add("alice", pb.Job(job_id="job1", seq=1, state=RUNNING))
        limits = StreamLimits(10, "MAX_STREAMS")
        feeds = JobFeeds(store, BrokenBus(), FakeLogs(), FakeObjects(), limits)
        with pytest.raises(SimlabError) as caught:
            await anext(feeds.watch(ALICE, "job1", after_seq=0))
        assert caught.value.code == Code.UNAVAILABLE
        assert feeds.hub.subscriptions() == 0 and limits.open_streams(ALICE) == 0

    run(scenario)
