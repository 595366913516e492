"""Job events from NATS for WatchJob: a core subscription to one job's subjects, which
core.fanout shares among all of that job's watchers in this process. JetStream stores the
events, and also delivers them to plain subscribers as they are published."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nats.aio.client import Client

from simlab.adapters.bus import close_nats, connect_nats
from simlab.common import events
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb


class JobEvents:
    def __init__(self, client: Client) -> None:
        self.client = client

    @staticmethod
    async def connect(url: str) -> JobEvents:
        client = await connect_nats(url, "simlab-gateway")
        return JobEvents(client)

    @property
    def connected(self) -> bool:
        return self.client.is_connected

    async def close(self) -> None:
        await close_nats(self.client)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[pb.JobEvent]]:
        """Subscribes before the caller reads the job's snapshot, so no event falls between."""
        if not self.client.is_connected:
            raise SimlabError(Code.UNAVAILABLE, "event bus unavailable; retry shortly")
        subscription = await self.client.subscribe(events.job_subjects(job_id))

        async def decoded() -> AsyncIterator[pb.JobEvent]:
            async for message in subscription.messages:
                yield pb.JobEvent.FromString(message.data)

        try:
            yield decoded()
        finally:
            await subscription.unsubscribe()
