"""The runner's durable JetStream consumer of "job queued" and "cancel requested" events.
A message is acknowledged only after the runner recorded what it did about it, so a crash
in between means redelivery, never a lost job."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from simlab.adapters.bus import close_nats, connect_nats
from simlab.common import events
from simlab.common.errors import SimlabError
from simlab.transport.errors import is_refusal
from simlab.v1 import simulation_pb2 as pb

log = logging.getLogger("runner")
DURABLE = "runner"
SUBJECTS = [events.subject("*", "queued"), events.subject("*", "cancelling")]
Handler = Callable[[pb.JobEvent], Awaitable[None]]


class JobEventConsumer:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.js = client.jetstream()

    @staticmethod
    async def connect(url: str) -> JobEventConsumer:
        client = await connect_nats(url, "simlab-runner")
        consumer = JobEventConsumer(client)
        await events.ensure_stream(consumer.js)
        await consumer.js.add_consumer(
            events.STREAM,
            ConsumerConfig(
                durable_name=DURABLE,
                filter_subjects=SUBJECTS,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=60.0,
                max_ack_pending=1000,
            ),
        )
        return consumer

    async def run(self, handle: Handler, stop: asyncio.Event) -> None:
        subscription = await self.js.pull_subscribe_bind(DURABLE, stream=events.STREAM)
        while not stop.is_set():
            try:
                messages = await subscription.fetch(batch=20, timeout=1.0)
            except NatsTimeout:
                continue
            except Exception:
                log.exception("fetching events failed; retrying")
                await asyncio.sleep(1.0)
                continue
            for message in messages:
                try:
                    await handle(pb.JobEvent.FromString(message.data))
                except SimlabError as error:
                    if not is_refusal(error):
                        # The job store is away or failing: try this event again shortly.
                        await message.nak(delay=2.0)
                        continue
                    log.warning("event rejected: %s", error, extra={"subject": message.subject})
                except Exception:
                    log.exception("handling an event failed", extra={"subject": message.subject})
                    await message.nak(delay=5.0)
                    continue
                await message.ack_sync()

    async def close(self) -> None:
        # Every message was acknowledged synchronously, so nothing is in flight; drain()
        # would wait out its timeout on the pull subscription's pending request.
        await close_nats(self.client, drain=False)
