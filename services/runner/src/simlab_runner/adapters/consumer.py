"""The runner's durable JetStream consumer of "job queued", "cancel requested" and "study
queued" events (one simlab.jobstore.v1.StudyQueuedEvent for all of a new study's points, in
the same stream, so in order with the job events). A message is acknowledged only after the
runner recorded what it did about it, so a crash in between means redelivery, never a lost
job.

The consumer's subjects are set each time the runner starts: a durable created by an older
runner is updated to these (a study event published while it still had the old ones is not
delivered, and need not be: the runner queues every queued job when it starts).

A message that cannot be handled is not retried forever: one that is not an event of its
subject's kind at all is terminated at once; one whose handling keeps failing is delivered
at most MAX_DELIVER times, and terminated (logged as an error) on its last delivery. The job
store being away is no failure of the message: it is held (kept in progress) and tried again
until the job store answers, so an outage costs no event its deliveries."""

from __future__ import annotations

import asyncio
import logging

from google.protobuf.message import DecodeError
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from simlab.adapters.bus import close_nats, connect_nats
from simlab.common import events
from simlab.common.errors import Code, SimlabError
from simlab.common.startup import when_reachable
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.transport.errors import is_refusal
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.core.ports import Event, EventHandler, StudyQueued

log = logging.getLogger("runner")
DURABLE = "runner"
SUBJECTS = [
    events.subject("*", "queued"),
    events.subject("*", "cancelling"),
    events.study_queued_subject("*"),
]
# Deliveries of one message at most (each failed handling or runner crash is one).
MAX_DELIVER = 10
ACK_WAIT_S = 60.0
RETRY_DELAY_S = 5.0
UNAVAILABLE_RETRY_S = 2.0


class JobEventConsumer:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.js = client.jetstream()

    @staticmethod
    async def connect(url: str) -> JobEventConsumer:
        client = await connect_nats(url, "simlab-runner")
        consumer = JobEventConsumer(client)
        # The job store creates the stream; the runner may only read its state.
        await when_reachable(
            f"stream {events.STREAM}",
            lambda: consumer.js.stream_info(events.STREAM),
            lambda error: isinstance(error, NotFoundError),
            log,
        )
        await consumer.js.add_consumer(
            events.STREAM,
            ConsumerConfig(
                durable_name=DURABLE,
                filter_subjects=SUBJECTS,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=ACK_WAIT_S,
                max_ack_pending=1000,
                max_deliver=MAX_DELIVER,
            ),
        )
        return consumer

    async def run(self, handle: EventHandler, stop: asyncio.Event) -> None:
        subscription = await self.js.pull_subscribe_bind(DURABLE, stream=events.STREAM)
        while not stop.is_set():
            try:
                messages = await subscription.fetch(batch=20, timeout=1.0)
            except (TimeoutError, NatsTimeout):
                # No event within the wait (nats-py raises either, depending on where the
                # wait ran out): nothing to do, not an error.
                continue
            except Exception:
                log.exception("fetching events failed; retrying")
                await asyncio.sleep(1.0)
                continue
            for index, message in enumerate(messages):
                await self._deliver(message, messages[index + 1 :], handle, stop)

    async def _deliver(
        self, message: Msg, waiting: list[Msg], handle: EventHandler, stop: asyncio.Event
    ) -> None:
        """Handles `message`; `waiting` are the fetched messages after it, held with it while
        the job store is away (else their ack wait would run out and count deliveries)."""
        context = {"subject": message.subject, "delivery": message.metadata.num_delivered}
        event = decode(message)
        if event is None:
            log.error("not a valid event: terminated, never redelivered", extra=context)
            await message.term()
            return
        while True:
            try:
                await handle(event)
            except SimlabError as error:
                if error.code == Code.UNAVAILABLE and not stop.is_set():
                    # The job store is away: hold the messages and try again.
                    for held in (message, *waiting):
                        await held.in_progress()
                    await asyncio.sleep(UNAVAILABLE_RETRY_S)
                    continue
                if not is_refusal(error):
                    await self._failed(message, context)
                    return
                log.warning("event rejected: %s", error, extra=context)
            except Exception:
                log.exception("handling an event failed", extra=context)
                await self._failed(message, context)
                return
            await message.ack_sync()
            return

    async def _failed(self, message: Msg, context: dict[str, object]) -> None:
        if message.metadata.num_delivered >= MAX_DELIVER:
            log.error(
                "event failed on every delivery: terminated, never redelivered",
                extra={**context, "max_deliver": MAX_DELIVER},
            )
            await message.term()
        else:
            await message.nak(delay=RETRY_DELAY_S)

    async def close(self) -> None:
        # Every message was acknowledged synchronously, so nothing is in flight; drain()
        # would wait out its timeout on the pull subscription's pending request.
        await close_nats(self.client, drain=False)


def decode(message: Msg) -> Event | None:
    """The event a message carries, as its subject says; None when it carries none."""
    try:
        if events.is_study_subject(message.subject):
            study = store_pb.StudyQueuedEvent.FromString(message.data)
            return StudyQueued(study.study_id) if study.study_id else None
        return pb.JobEvent.FromString(message.data)
    except DecodeError:
        return None
