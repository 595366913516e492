"""The runner's durable consumer against a real nats-server, connected as the runner's NATS
user: a poison message is terminated and logged, never redelivered forever, and the job store
being away costs an event none of its deliveries."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from simlab.adapters.bus import close_nats, connect_nats
from simlab.common import events
from simlab.common.errors import Code, SimlabError
from simlab.devstack.servers import Nats
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.adapters import consumer
from simlab_runner.adapters.consumer import MAX_DELIVER, JobEventConsumer

Handler = Callable[[pb.JobEvent], Awaitable[None]]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumer, "RETRY_DELAY_S", 0.02)
    monkeypatch.setattr(consumer, "UNAVAILABLE_RETRY_S", 0.02)


def queued(job_id: str) -> bytes:
    return pb.JobEvent(job_id=job_id, job=pb.Job(job_id=job_id)).SerializeToString()


def consume(
    server: Nats, messages: list[tuple[str, bytes]], handle: Handler, done: Callable[[], bool]
) -> None:
    """Publishes `messages` (job id, payload) as the job store does, then runs the consumer
    as the runner until `done()` after a handling, and a little longer."""

    async def main() -> None:
        jobstore = await connect_nats(server.url_for("jobstore"), "jobstore")
        await events.ensure_stream(jobstore.jetstream())
        for job_id, payload in messages:
            await jobstore.jetstream().publish(events.subject(job_id, "queued"), payload)
        await close_nats(jobstore)
        finished = asyncio.Event()

        async def handle_until(event: pb.JobEvent) -> None:
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


def test_an_undecodable_message_is_terminated_at_once(
    secured_nats: Nats, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[str] = []

    async def handle(event: pb.JobEvent) -> None:
        handled.append(event.job_id)

    with caplog.at_level(logging.ERROR, "runner"):
        consume(
            secured_nats,
            [("j1", b"\xff not a job event"), ("j2", queued("j2"))],
            handle,
            lambda: handled == ["j2"],
        )
    assert handled == ["j2"]
    assert [r.getMessage() for r in caplog.records] == [
        "not a job event: terminated, never redelivered"
    ]


def test_a_message_that_keeps_failing_is_delivered_at_most_max_deliver_times(
    secured_nats: Nats, caplog: pytest.LogCaptureFixture
) -> None:
    handled: Counter[str] = Counter()

    async def handle(event: pb.JobEvent) -> None:
        handled[event.job_id] += 1
        if event.job_id == "j1":
            raise RuntimeError("a bug this event triggers")

    with caplog.at_level(logging.ERROR, "runner"):
        consume(
            secured_nats,
            [("j1", queued("j1")), ("j2", queued("j2"))],
            handle,
            lambda: handled["j1"] >= MAX_DELIVER and handled["j2"] == 1,
        )
    assert handled["j1"] == MAX_DELIVER
    given_up = [r for r in caplog.records if "failed on every delivery" in r.getMessage()]
    assert [r.subject for r in given_up] == [events.subject("j1", "queued")]  # type: ignore[attr-defined]


def test_the_job_store_away_costs_an_event_no_delivery(secured_nats: Nats) -> None:
    handled: list[str] = []

    async def handle(event: pb.JobEvent) -> None:
        handled.append(event.job_id)
        if len(handled) <= 2 * MAX_DELIVER:
            raise SimlabError(Code.UNAVAILABLE, "the job store is restarting")

    consume(
        secured_nats, [("j1", queued("j1")), ("j2", queued("j2"))], handle, lambda: "j2" in handled
    )
    assert handled == ["j1"] * (2 * MAX_DELIVER + 1) + ["j2"]
