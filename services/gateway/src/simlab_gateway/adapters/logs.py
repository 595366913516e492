"""Workers' live output from NATS JetStream for TailLogs: an ordered consumer (ephemeral,
delivers everything the stream still holds, in order) on one job's log subjects."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import DeliverPolicy

from simlab.common import logstream
from simlab.common.errors import Code, SimlabError
from simlab_gateway.core.logs import LogFollow, LogPiece

# How long to wait for a message before deciding the stream has nothing more for now.
IDLE_S = 0.5


class JobLogs:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.js = client.jetstream()

    async def tail(
        self, job_id: str, shard: int | None, follow: bool, job_ended: Callable[[], bool]
    ) -> AsyncIterator[LogPiece]:
        """What the stream holds for the job (or one shard); then, with `follow`, each new
        piece until the output is complete after `job_ended()` (see core.logs)."""
        if not self.client.is_connected:
            raise SimlabError(Code.UNAVAILABLE, "event bus unavailable; retry shortly")
        subscription = await self.js.subscribe(
            logstream.job_subjects(job_id, shard),
            stream=logstream.STREAM,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        state = LogFollow()
        try:
            while True:
                try:
                    message = await subscription.next_msg(timeout=IDLE_S)
                except NatsTimeout:
                    caught_up = True
                else:
                    caught_up = message.metadata.num_pending == 0
                    piece_shard = logstream.shard_of(message.subject)
                    if message.headers and logstream.END_HEADER in message.headers:
                        state.shard_ended(piece_shard)
                    elif message.data:
                        state.output(piece_shard)
                        yield LogPiece(piece_shard, message.data)
                if not follow and caught_up:
                    return
                if job_ended():
                    state.job_ended(time.monotonic())
                if state.complete(time.monotonic(), caught_up):
                    return
        finally:
            await subscription.unsubscribe()
