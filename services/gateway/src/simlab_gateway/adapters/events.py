"""Job events from NATS for WatchJob: a core subscription to one job's subjects, which
core.fanout shares among all of that job's watchers in this process. JetStream stores the
events, and also delivers them to plain subscribers as they are published; what is published
while the connection is down never reaches them, so each reconnection is passed on as None
(the watchers read a fresh snapshot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nats.aio.client import Client
from nats.aio.msg import Msg

from simlab.adapters.bus import close_nats, connect_nats
from simlab.common import events
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb


class JobEvents:
    def __init__(self) -> None:
        self.client = Client()
        # The queue of each live subscription, told of every reconnection.
        self._live: set[asyncio.Queue[pb.JobEvent | None]] = set()

    @staticmethod
    async def connect(url: str) -> JobEvents:
        events = JobEvents()
        events.client = await connect_nats(url, "simlab-gateway", events._reconnected)
        return events

    @property
    def connected(self) -> bool:
        return self.client.is_connected

    async def close(self) -> None:
        await close_nats(self.client)

    async def _reconnected(self) -> None:
        # Events published while the connection was down are gone for plain subscribers.
        for queue in self._live:
            queue.put_nowait(None)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[pb.JobEvent | None]]:
        """Subscribes before the caller reads the job's snapshot, so no event falls between;
        None after a reconnection, where events may have been missed."""
        if not self.client.is_connected:
            raise SimlabError(Code.UNAVAILABLE, "event bus unavailable; retry shortly")
        queue: asyncio.Queue[pb.JobEvent | None] = asyncio.Queue()

        async def received(message: Msg) -> None:
            queue.put_nowait(pb.JobEvent.FromString(message.data))

        subscription = await self.client.subscribe(events.job_subjects(job_id), cb=received)
        self._live.add(queue)

        async def delivered() -> AsyncIterator[pb.JobEvent | None]:
            while True:
                yield await queue.get()

        try:
            yield delivered()
        finally:
            self._live.discard(queue)
            await subscription.unsubscribe()
