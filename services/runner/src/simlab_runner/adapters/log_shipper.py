"""Publishes workers' output to NATS JetStream as it appears (see simlab.common.logstream).
Best effort: a piece that cannot be published is dropped with a warning, never stopping the
shard; the complete log is still stored in the object store when the shard ends."""

from __future__ import annotations

import logging

from nats.aio.client import Client

from simlab.adapters.bus import close_nats, connect_nats
from simlab.common import logstream

log = logging.getLogger("runner")
PUBLISH_TIMEOUT_S = 5.0


class NatsLogShipper:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.js = client.jetstream()

    @staticmethod
    async def connect(url: str) -> NatsLogShipper:
        # The job store creates the stream (the runner's NATS user may not).
        return NatsLogShipper(await connect_nats(url, "simlab-runner-logs"))

    async def publish(self, job_id: str, shard: int, data: bytes) -> None:
        for start in range(0, len(data), logstream.MAX_CHUNK):
            await self._publish(job_id, shard, data[start : start + logstream.MAX_CHUNK])

    async def end(self, job_id: str, shard: int) -> None:
        await self._publish(job_id, shard, b"", {logstream.END_HEADER: "1"})

    async def _publish(
        self, job_id: str, shard: int, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        try:
            await self.js.publish(
                logstream.subject(job_id, shard),
                data,
                headers=headers,
                timeout=PUBLISH_TIMEOUT_S,
                stream=logstream.STREAM,
            )
        except Exception as error:
            log.warning(
                "could not publish live output",
                extra={"job_id": job_id, "shard": shard, "error": str(error)},
            )

    async def close(self) -> None:
        await close_nats(self.client)
