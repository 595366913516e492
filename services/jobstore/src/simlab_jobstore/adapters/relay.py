"""The outbox relay: publishes outbox rows to JetStream in id order, each with Nats-Msg-Id set
to its event id (JetStream drops a re-published duplicate), then deletes them. A row is a
subject and an encoded payload, whatever it announces: a job's change (simlab.v1.JobEvent on
simlab.jobs.<job_id>.<event>) or a study's queued points (simlab.jobstore.v1.StudyQueuedEvent
on simlab.studies.<study_id>.queued); transport.convert encodes both.

It wakes as soon as a writer commits (`wake`) and also sweeps every `sweep_interval_s`, which
picks up rows left by a crash or written by another replica. Only one relay works at a time
across replicas: the one holding a session-level advisory lock on its own connection.

Per job, id order is commit order (every change locks the job row), so a job's events reach
the stream in seq order. A StudyQueuedEvent commits with its study's points: whoever reads it
finds them all, and any later event of a point follows it in the stream. Across jobs, a row
with a smaller id may commit later; it is simply published later, which is why rows are
deleted by id, never by range."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)

RELAY_LOCK = 7_314_002
MSG_ID_HEADER = "Nats-Msg-Id"
PUBLISH_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: str
    subject: str
    payload: bytes


class OutboxRelay:
    def __init__(
        self,
        database_url: str,
        js: JetStreamContext,
        *,
        sweep_interval_s: float = 1.0,
        batch_size: int = 500,
        publish_timeout_s: float = PUBLISH_TIMEOUT_S,
        retry_interval_s: float = 0.5,
    ) -> None:
        self.database_url = database_url
        self.js = js
        self.sweep_interval_s = sweep_interval_s
        self.batch_size = batch_size
        self.publish_timeout_s = publish_timeout_s
        self.retry_interval_s = retry_interval_s
        self._wakeup = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        """Relays until `stop`; reconnects to the database after a failure."""
        while not self._stopping:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.database_url, autocommit=True
                ) as conn:
                    if await self._take_lock(conn):
                        await self._relay(conn)
            except psycopg.Error:
                log.warning("outbox relay lost the database; retrying", exc_info=True)
                await self._sleep(self.sweep_interval_s)
            except Exception:
                # Never let a surprise stop the relay for good: the outbox would only grow.
                log.exception("outbox relay failed; retrying")
                await self._sleep(self.sweep_interval_s)

    def stop(self) -> None:
        """Asks `run` to return after one more pass over the outbox (call it once no more
        writes come, to drain what they left)."""
        self._stopping = True
        self.wake()

    async def _take_lock(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        """Waits for the relay lock; False when stopping first."""
        while not self._stopping:
            cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK,))
            row = await cursor.fetchone()
            if row is not None and row[0]:
                return True
            await self._sleep(self.sweep_interval_s)
        return False

    async def _relay(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            self._wakeup.clear()
            last_pass = self._stopping
            rows = await self._pending(conn)
            published = await self._publish(rows)
            if published:
                await conn.execute(
                    "DELETE FROM outbox WHERE id = ANY(%s)", ([row.id for row in published],)
                )
            if last_pass:
                return
            if len(published) < len(rows):
                # NATS is away or refused: back off (new commits do not hurry a retry).
                await asyncio.sleep(self.retry_interval_s)
            elif len(rows) < self.batch_size:
                await self._sleep(self.sweep_interval_s)

    async def _pending(self, conn: psycopg.AsyncConnection[Any]) -> list[OutboxRow]:
        cursor = await conn.execute(
            "SELECT id, event_id, subject, payload FROM outbox ORDER BY id LIMIT %s",
            (self.batch_size,),
        )
        return [OutboxRow(*row) for row in await cursor.fetchall()]

    async def _publish(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        """Sends every row in order without waiting, then gathers the acks; returns the
        acknowledged prefix (a row after a failure is sent again next time, and JetStream
        drops it if it had arrived)."""
        acks: list[asyncio.Future[Any]] = []
        try:
            for row in rows:
                acks.append(
                    await self.js.publish_async(
                        row.subject, row.payload, headers={MSG_ID_HEADER: row.event_id}
                    )
                )
        except Exception:
            log.warning("outbox relay could not publish", exc_info=True)
        if acks:
            _, unanswered = await asyncio.wait(acks, timeout=self.publish_timeout_s)
            for ack in unanswered:
                ack.cancel()
        published = []
        for row, ack in zip(rows, acks, strict=False):
            if ack.cancelled() or ack.exception() is not None:
                break
            published.append(row)
        if len(published) < len(rows):
            log.warning(
                "outbox relay: events not acknowledged, will retry",
                extra={"unacknowledged": len(rows) - len(published)},
            )
        return published

    async def _sleep(self, seconds: float) -> None:
        """Sleeps until woken or `seconds` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)
