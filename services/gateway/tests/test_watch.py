"""WatchJob and TailLogs with fake ports: subscribe first, then the snapshot, then what is
newer than it, until the job ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

import pytest

from services.gateway.tests.fakes import FakeEvents, FakeJobStore, FakeLogs, FakeObjects
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.logs import LogPiece
from simlab_gateway.core.streams import StreamLimits
from simlab_gateway.core.watch import JobFeeds

T = TypeVar("T")
ALICE = Principal("alice")
RUNNING, SUCCEEDED = pb.JOB_STATE_RUNNING, pb.JOB_STATE_SUCCEEDED


def event(seq: int, state: int = RUNNING) -> pb.JobEvent:
    return pb.JobEvent(
        job_id="job1", seq=seq, kind=pb.EVENT_KIND_PROGRESS, job=pb.Job(job_id="job1", state=state)
    )


def collect(feed: AsyncIterator[T]) -> list[T]:
    async def drain() -> list[T]:
        return [item async for item in feed]

    return asyncio.run(asyncio.wait_for(drain(), 5))


def feeds(
    job: pb.Job, published: tuple[pb.JobEvent, ...] = (), objects: FakeObjects | None = None
) -> tuple[JobFeeds, FakeJobStore, FakeLogs]:
    store = FakeJobStore()
    store.add("alice", job)
    logs = FakeLogs([LogPiece(0, b"live 0\n"), LogPiece(1, b"live 1\n")])
    events = FakeEvents(store.calls, list(published))
    limits = StreamLimits(2, "MAX_STREAMS")
    return JobFeeds(store, events, logs, objects or FakeObjects(), limits), store, logs


def test_watch_subscribes_then_sends_the_snapshot_then_newer_events_until_the_end() -> None:
    job = pb.Job(job_id="job1", seq=5, state=RUNNING)
    # 4 and 5 were published while the snapshot was read: it covers them. 8 follows the end.
    published = (event(4), event(5), event(6), event(7, SUCCEEDED), event(8))
    feed, store, _ = feeds(job, published)
    sent = collect(feed.watch(ALICE, "job1", after_seq=0))
    assert store.calls == ["subscribe", "get_job"]
    assert [(e.kind, e.seq) for e in sent] == [
        (pb.EVENT_KIND_SNAPSHOT, 5),
        (pb.EVENT_KIND_PROGRESS, 6),
        (pb.EVENT_KIND_PROGRESS, 7),
    ]
    assert sent[0].job == job


def test_watch_skips_the_snapshot_the_caller_has_seen() -> None:
    feed, _, _ = feeds(pb.Job(job_id="job1", seq=5, state=RUNNING), (event(6, SUCCEEDED),))
    assert [e.seq for e in collect(feed.watch(ALICE, "job1", after_seq=5))] == [6]


def test_watching_an_ended_job_sends_its_snapshot_and_ends() -> None:
    feed, _, _ = feeds(pb.Job(job_id="job1", seq=9, state=SUCCEEDED))
    assert [e.seq for e in collect(feed.watch(ALICE, "job1", after_seq=0))] == [9]


def test_a_share_link_to_another_run_is_refused_before_subscribing() -> None:
    feed, store, _ = feeds(pb.Job(job_id="job1", seq=1))
    with pytest.raises(SimlabError) as caught:
        collect(feed.watch(Principal("alice", shared_job="job2"), "job1", after_seq=0))
    assert caught.value.code == Code.PERMISSION_DENIED
    assert store.calls == []


def test_an_ended_jobs_logs_come_from_the_stored_logs() -> None:
    stored = FakeObjects(
        {"jobs/job1/logs/shard-0.log": b"kept 0\n", "jobs/job1/logs/shard-1.log": b"kept 1\n"}
    )
    feed, _, logs = feeds(pb.Job(job_id="job1", state=SUCCEEDED, shards=2), objects=stored)
    pieces = collect(feed.tail_logs(ALICE, "job1", shard=None, follow=False))
    assert b"".join(p.data for p in pieces if p.shard == 0) == b"kept 0\n"
    assert b"".join(p.data for p in pieces if p.shard == 1) == b"kept 1\n"
    assert logs.tails == []


def test_an_ended_job_whose_logs_are_not_all_stored_yet_follows_the_live_stream() -> None:
    stored = FakeObjects({"jobs/job1/logs/shard-0.log": b"kept 0\n"})
    feed, _, logs = feeds(pb.Job(job_id="job1", state=SUCCEEDED, shards=2), objects=stored)
    pieces = collect(feed.tail_logs(ALICE, "job1", shard=None, follow=False))
    assert [p.data for p in pieces] == [b"live 0\n", b"live 1\n"]
    assert logs.tails == [("job1", None, True)]
    # One shard whose log is stored needs no stream.
    assert collect(feed.tail_logs(ALICE, "job1", shard=0, follow=False)) == [
        LogPiece(0, b"kept"),
        LogPiece(0, b" 0\n"),
    ]


def test_a_run_that_stopped_early_needs_no_log_of_the_shards_past_its_stop() -> None:
    stored = FakeObjects(
        {"jobs/job1/logs/shard-0.log": b"kept 0\n", "jobs/job1/logs/shard-1.log": b"kept 1\n"}
    )
    stopped = pb.Job(job_id="job1", state=SUCCEEDED, shards=4)
    stopped.stop.CopyFrom(pb.StopInfo(reason=pb.STOP_REASON_PRECISION_REACHED, end_block=2))
    feed, _, logs = feeds(stopped, objects=stored)
    pieces = collect(feed.tail_logs(ALICE, "job1", shard=None, follow=False))
    assert b"".join(p.data for p in pieces) == b"kept 0\nkept 1\n"
    assert logs.tails == []


def test_a_cache_hits_logs_are_those_of_the_run_it_reused() -> None:
    """The hit (job2, 1 shard, alice's) reuses bob's run job1 (2 shards) of a public model."""
    stored = FakeObjects(
        {"jobs/job1/logs/shard-0.log": b"kept 0\n", "jobs/job1/logs/shard-1.log": b"kept 1\n"}
    )
    hit = pb.Job(job_id="job2", state=SUCCEEDED, shards=1, cached_from="job1")
    feed, store, logs = feeds(hit, objects=stored)
    store.jobs.clear()
    store.add("bob", pb.Job(job_id="job1", state=SUCCEEDED, shards=2))
    store.add("alice", hit)
    pieces = collect(feed.tail_logs(ALICE, "job2", shard=None, follow=False))
    assert b"".join(p.data for p in pieces) == b"kept 0\nkept 1\n"
    assert b"".join(p.data for p in collect(feed.tail_logs(ALICE, "job2", 1, False))) == (
        b"kept 1\n"
    )
    assert logs.tails == []


def test_a_running_jobs_logs_come_from_the_live_stream_as_asked() -> None:
    feed, store, logs = feeds(pb.Job(job_id="job1", state=RUNNING, shards=2))
    pieces = collect(feed.tail_logs(ALICE, "job1", shard=1, follow=True))
    assert pieces == [LogPiece(1, b"live 1\n")]
    assert logs.tails == [("job1", 1, True)]
    assert store.calls == ["subscribe", "get_job"]


@pytest.mark.parametrize("job_id", ["", "*", "job1.>", "JOB1", "a" * 65, "job\x00"])
def test_a_malformed_job_id_is_refused_before_subscribing(job_id: str) -> None:
    feed, store, _ = feeds(pb.Job(job_id="job1", seq=1))
    for stream in (
        feed.watch(ALICE, job_id, after_seq=0),
        feed.tail_logs(ALICE, job_id, shard=None, follow=False),
    ):
        with pytest.raises(SimlabError) as caught:
            collect(stream)
        assert caught.value.code == Code.INVALID_ARGUMENT
        assert caught.value.field == "job_id"
    assert store.calls == []


@pytest.mark.parametrize("shard", [-1, 2])
def test_tail_logs_refuses_a_shard_the_job_does_not_have(shard: int) -> None:
    feed, _, logs = feeds(pb.Job(job_id="job1", state=RUNNING, shards=2))
    with pytest.raises(SimlabError) as caught:
        collect(feed.tail_logs(ALICE, "job1", shard=shard, follow=False))
    assert caught.value.code == Code.INVALID_ARGUMENT
    assert caught.value.field == "shard"
    assert logs.tails == []
