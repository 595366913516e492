"""The runner's durable consumer against a real nats-server, connected as the runner's NATS
user: a poison message is terminated and logged, never redelivered forever, the job store
being away costs an event none of its deliveries, a study's one event arrives in order with
the job events (also on a durable an older runner created without it) and queues the study's
queued points once however often it is delivered."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.runner.tests.fakes import (
    CANCELLING,
    QUEUED,
    SUCCEEDED,
    Call,
    FakeJobStore,
    FakeLauncher,
)
from simlab.adapters.bus import close_nats, connect_nats
from simlab.common import events
from simlab.common.errors import Code, SimlabError
from simlab.devstack.servers import Nats
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.adapters import consumer
from simlab_runner.adapters.consumer import MAX_DELIVER, JobEventConsumer
from simlab_runner.core.ports import Event, StudyQueued
from simlab_runner.core.runner import Runner
from simlab_runner.core.scheduler import FairScheduler

Handler = Callable[[Event], Awaitable[None]]
# (subject, payload)
Message = tuple[str, bytes]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumer, "RETRY_DELAY_S", 0.02)
    monkeypatch.setattr(consumer, "UNAVAILABLE_RETRY_S", 0.02)


def job_event(job_id: str, event: str = "queued", payload: bytes | None = None) -> Message:
    if payload is None:
        payload = pb.JobEvent(job_id=job_id, job=pb.Job(job_id=job_id)).SerializeToString()
    return events.subject(job_id, event), payload


def study_event(study_id: str, payload: bytes | None = None) -> Message:
    if payload is None:
        event = store_pb.StudyQueuedEvent(event_id=f"e-{study_id}", study_id=study_id)
        payload = event.SerializeToString()
    return events.study_queued_subject(study_id), payload


async def publish(server: Nats, messages: list[Message]) -> None:
    """Publishes (subject, payload) messages as the job store does."""
    jobstore = await connect_nats(server.url_for("jobstore"), "jobstore")
    await events.ensure_stream(jobstore.jetstream())
    for subject, payload in messages:
        await jobstore.jetstream().publish(subject, payload)
    await close_nats(jobstore)


def consume(
    server: Nats,
    messages: list[Message],
    handle: Handler,
    done: Callable[[], bool],
    before: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Publishes `messages` as the job store does (after `before()`, if given), then runs the
    consumer as the runner until `done()` after a handling, and a little longer."""

    async def main() -> None:
        if before is not None:
            await before()
        await publish(server, messages)
        finished = asyncio.Event()

        async def handle_until(event: Event) -> None:
            try:
                await handle(event)
            finally:
                if done():
                    finished.set()

        runner = await JobEventConsumer.connect(server.url_for("runner"))
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(handle_until, stop))
        await asyncio.wait_for(finished.wait(), 60)
        await asyncio.sleep(0.5)  # time for a redelivery that must not come
        stop.set()
        await task
        info = await runner.js.consumer_info(events.STREAM, consumer.DURABLE)
        await runner.close()
        assert info.num_ack_pending == 0 and info.num_pending == 0

    asyncio.run(main())


def name(event: Event) -> str:
    """The job or study an event is about."""
    return event.study_id if isinstance(event, StudyQueued) else event.job_id


def test_an_undecodable_message_is_terminated_at_once(
    secured_nats: Nats, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[str] = []

    async def handle(event: Event) -> None:
        handled.append(name(event))

    with caplog.at_level(logging.ERROR, "runner"):
        consume(
            secured_nats,
            [
                job_event("j1", payload=b"\xff not a job event"),
                study_event("s1", payload=b"\xff not a study event"),
                study_event("s2", payload=store_pb.StudyQueuedEvent().SerializeToString()),
                job_event("j2"),
            ],
            handle,
            lambda: handled == ["j2"],
        )
    assert handled == ["j2"]
    assert [(r.getMessage(), r.subject) for r in caplog.records] == [  # type: ignore[attr-defined]
        ("not a valid event: terminated, never redelivered", subject)
        for subject in (
            events.subject("j1", "queued"),
            events.study_queued_subject("s1"),
            events.study_queued_subject("s2"),
        )
    ]


def test_a_message_that_keeps_failing_is_delivered_at_most_max_deliver_times(
    secured_nats: Nats, caplog: pytest.LogCaptureFixture
) -> None:
    handled: Counter[str] = Counter()

    async def handle(event: Event) -> None:
        handled[name(event)] += 1
        if name(event) == "j1":
            raise RuntimeError("a bug this event triggers")

    with caplog.at_level(logging.ERROR, "runner"):
        consume(
            secured_nats,
            [job_event("j1"), job_event("j2")],
            handle,
            lambda: handled["j1"] >= MAX_DELIVER and handled["j2"] == 1,
        )
    assert handled["j1"] == MAX_DELIVER
    given_up = [r for r in caplog.records if "failed on every delivery" in r.getMessage()]
    assert [r.subject for r in given_up] == [events.subject("j1", "queued")]  # type: ignore[attr-defined]


def test_the_job_store_away_costs_an_event_no_delivery(secured_nats: Nats) -> None:
    handled: list[str] = []

    async def handle(event: Event) -> None:
        handled.append(name(event))
        if len(handled) <= 2 * MAX_DELIVER:
            raise SimlabError(Code.UNAVAILABLE, "the job store is restarting")

    consume(secured_nats, [job_event("j1"), job_event("j2")], handle, lambda: "j2" in handled)
    assert handled == ["j1"] * (2 * MAX_DELIVER + 1) + ["j2"]


# ---- studies -----------------------------------------------------------------------------


def test_a_study_event_arrives_in_order_between_job_events(secured_nats: Nats) -> None:
    handled: list[Event] = []

    async def handle(event: Event) -> None:
        handled.append(event)

    consume(
        secured_nats,
        [job_event("j1"), study_event("s1"), job_event("j2", "cancelling"), job_event("j3")],
        handle,
        lambda: len(handled) == 4,
    )
    assert [type(event).__name__ for event in handled] == [
        "JobEvent",
        "StudyQueued",
        "JobEvent",
        "JobEvent",
    ]
    assert [name(event) for event in handled] == ["j1", "s1", "j2", "j3"]


def test_a_durable_an_older_runner_created_is_updated_to_take_study_events(
    secured_nats: Nats,
) -> None:
    handled: list[str] = []

    async def handle(event: Event) -> None:
        handled.append(name(event))

    async def older_runner() -> None:
        """Creates the durable as a runner without studies did: job subjects only."""
        await publish(secured_nats, [])  # the job store creates the stream
        client = await connect_nats(secured_nats.url_for("runner"), "simlab-runner")
        config = ConsumerConfig(
            durable_name=consumer.DURABLE,
            filter_subjects=[events.subject("*", "queued"), events.subject("*", "cancelling")],
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
        )
        await client.jetstream().add_consumer(events.STREAM, config)
        await close_nats(client, drain=False)

    consume(
        secured_nats,
        [job_event("j1"), study_event("s1")],
        handle,
        lambda: handled == ["j1", "s1"],
        before=older_runner,
    )
    assert handled == ["j1", "s1"]

    async def subjects() -> list[str] | None:
        client = await connect_nats(secured_nats.url_for("runner"), "simlab-runner")
        info = await client.jetstream().consumer_info(events.STREAM, consumer.DURABLE)
        await close_nats(client, drain=False)
        return info.config.filter_subjects

    assert asyncio.run(subjects()) == consumer.SUBJECTS


def test_one_study_event_queues_the_studys_queued_points_once_even_when_redelivered(
    secured_nats: Nats,
) -> None:
    calls: list[Call] = []
    queued = [pb.Job(job_id=f"s1.{i}", owner="ana", shards=1, state=QUEUED) for i in range(5)]
    for i, job in enumerate(queued):
        job.study_id, job.study_point = "s1", i
    cancelled = pb.Job(
        job_id="s1.5", owner="ana", shards=1, state=CANCELLING, study_id="s1", study_point=5
    )
    elsewhere = pb.Job(job_id="s2.0", owner="ana", shards=1, state=QUEUED, study_id="s2")
    store = FakeJobStore(calls, *queued, cancelled, elsewhere)
    subject = Runner(store, FakeLauncher(calls), FairScheduler(3, 3))
    deliveries: Counter[str] = Counter()

    async def handle(event: Event) -> None:
        deliveries[name(event)] += 1
        await subject.handle_event(event)
        if deliveries["s1"] == 1:
            raise RuntimeError("the runner stops before its ack")  # so it comes again

    consume(
        secured_nats,
        [study_event("s1")],
        handle,
        lambda: deliveries["s1"] == 2,
    )
    assert deliveries == {"s1": 2}
    assert [call for call in calls if call[0] == "active_jobs"] == [("active_jobs", "s1")] * 2
    launched = [call[1] for call in calls if call[0] == "launch"]
    assert launched == ["s1.0", "s1.1", "s1.2"]
    assert subject.scheduler.waiting == 2  # s1.3 and s1.4, each once
    for job_id in launched:
        store.jobs[job_id].state = SUCCEEDED
    asyncio.run(subject.release_ended())
    assert [call[1] for call in calls if call[0] == "launch"] == [f"s1.{i}" for i in range(5)]
    assert not subject.scheduler.knows("s1.5") and not subject.scheduler.knows("s2.0")
