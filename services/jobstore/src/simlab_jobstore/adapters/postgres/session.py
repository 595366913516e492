"""The pool and its sessions. The pool's connections are in autocommit mode (see open_pool): a
lone statement commits by itself in one round trip; a change opens its transaction explicitly."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from simlab.common.errors import Code, SimlabError, not_found

from ...core.events import EncodedEvent, EventEncoder, EventKind
from ...core.jobs import Job, ProgressPoint
from .rows import (
    JOB_COLUMNS,
    STUDY_COLUMNS,
    Row,
    event_record,
    history_to_json,
    insert_record,
    job_from_row,
    prefix_and_stop_values,
)

# The columns a new job is inserted with, and their types: its request, then what it may start
# with besides (the result of a cache hit, the reused blocks of a top-up, what makes it a
# precision run) and the study it is a point of. rows.insert_record gives their values.
_NEW_JOB_COLUMNS = (
    "job_id text, owner text, request_id text, model text, parameters jsonb, seed numeric,"
    " requested_seed numeric, shards integer, primary_output text, block_size bigint,"
    " samples_total bigint, blocks_total bigint, state text, seq bigint,"
    " created_at timestamptz, updated_at timestamptz, history jsonb, kind text,"
    " model_version integer, code_sha256 text, args jsonb,"
    " blocks_done bigint, samples_done bigint, moments_count bigint, moments_mean float8,"
    " moments_m2 float8, summary jsonb, runtime text, precision jsonb, prefix_blocks bigint,"
    " prefix_start bigint, prefix_count bigint, prefix_mean float8, prefix_m2 float8,"
    " stop_reason text, stop_first_block bigint, stop_end_block bigint, fingerprint text,"
    " cached_from text, extends text, study_id text, study_point integer"
)
_NAMES_AND_TYPES = [column.split() for column in _NEW_JOB_COLUMNS.split(",")]
NEW_JOB_NAMES = [name for name, _ in _NAMES_AND_TYPES]
NEW_JOB_TYPES = [type_ for _, type_ in _NAMES_AND_TYPES]
_NAMES = ", ".join(NEW_JOB_NAMES)
# Inserts new jobs with their events; a job whose owner's request_id already names a job is
# not inserted nor returned (nothing written). The rows travel as one JSON array: far cheaper
# to encode than one array per column.
INSERT_JOBS = (
    "WITH new AS (SELECT * FROM json_to_recordset(%s::json) AS new ("
    f" {_NEW_JOB_COLUMNS}, event_id text, subject text, payload bytea)),"
    f" new_jobs AS (INSERT INTO jobs ({_NAMES}) SELECT {_NAMES} FROM new"
    " ON CONFLICT (owner, request_id) WHERE request_id <> '' DO NOTHING"
    " RETURNING job_id),"
    " events AS (INSERT INTO outbox (event_id, subject, payload)"
    " SELECT event_id, subject, payload FROM new JOIN new_jobs USING (job_id))"
    " SELECT job_id FROM new_jobs"
)
# Inserts new jobs without events or request ids (a study's queued points): the fastest way
# in, for thousands of rows at once.
COPY_JOBS = f"COPY jobs ({_NAMES}) FROM STDIN"


def now() -> datetime:
    return datetime.now(UTC)


def open_pool(database_url: str, size: int) -> AsyncConnectionPool[Any]:
    return AsyncConnectionPool(
        database_url,
        min_size=size,
        max_size=size,
        kwargs={"autocommit": True},
        open=False,
        name="jobstore",
    )


class Session:
    """A connection (in a transaction when changing), with the statements the store shares."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], events: EventEncoder) -> None:
        self.conn = conn
        self.events = events
        self.wrote_events = False

    async def fetch_one(self, query: Any, params: Any = None) -> Row | None:
        cursor = self.conn.cursor(row_factory=dict_row)
        await cursor.execute(query, params)
        return await cursor.fetchone()

    async def fetch_all(self, query: Any, params: Any = None) -> list[Row]:
        cursor = self.conn.cursor(row_factory=dict_row)
        await cursor.execute(query, params)
        return await cursor.fetchall()

    async def find_job(self, job_id: str, owner: str = "", *, lock: bool = False) -> Job:
        """The job, locked until commit when `lock`. An empty owner (an internal caller) sees
        every job; another owner's job, or a registration job (internal), is not found,
        exactly like an unknown one."""
        row = await self.fetch_one(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = %(job_id)s"
            " AND (%(owner)s = '' OR (owner = %(owner)s AND kind = 'run'))"
            + (" FOR UPDATE" if lock else ""),
            {"job_id": job_id, "owner": owner},
        )
        if row is None:
            raise not_found(f"job {job_id}")
        return job_from_row(row)

    async def find_study(self, study_id: str, owner: str = "") -> Row:
        """The study's row. An empty owner (an internal caller) sees every study; another
        owner's is not found, like an unknown one."""
        row = await self.fetch_one(
            f"SELECT {STUDY_COLUMNS} FROM studies WHERE study_id = %(study_id)s"
            " AND (%(owner)s = '' OR owner = %(owner)s)",
            {"study_id": study_id, "owner": owner},
        )
        if row is None:
            raise not_found(f"study {study_id}")
        return row

    async def count(self, query: Any, params: Any) -> int:
        cursor = await self.conn.execute(query, params)
        row = await cursor.fetchone()
        assert row is not None, "count(*) always gives a row"
        return int(row[0])

    async def save(self, job: Job, kind: EventKind) -> None:
        """Writes every field a change can touch, and the change's event, in one statement."""
        error = job.error
        event = self.events.job(job, kind)
        await self.conn.execute(
            "WITH saved AS (UPDATE jobs SET state = %s, seq = %s, updated_at = %s,"
            " history = %s, blocks_done = %s, samples_done = %s, samples_total = %s,"
            " moments_count = %s, moments_mean = %s, moments_m2 = %s, summary = %s,"
            " error_message = %s, error_traceback = %s, error_source = %s,"
            " error_log_tail = %s, finalizer_shard = %s, runtime = %s,"
            " reported_estimate = %s, reported_stderr = %s, prefix_blocks = %s,"
            " prefix_start = %s, prefix_count = %s, prefix_mean = %s, prefix_m2 = %s,"
            # A stop is decided once: never overwritten.
            " stop_reason = coalesce(stop_reason, %s),"
            " stop_first_block = coalesce(stop_first_block, %s),"
            " stop_end_block = coalesce(stop_end_block, %s) WHERE job_id = %s)"
            " INSERT INTO outbox (event_id, subject, payload) VALUES (%s, %s, %s)",
            (
                job.state.value,
                job.seq,
                job.updated_at,
                Jsonb(history_to_json(job.history)),
                job.blocks_done,
                job.samples_done,
                job.samples_total,
                job.moments.count,
                job.moments.mean,
                job.moments.m2,
                None if job.summary is None else Jsonb(job.summary),
                error.message if error else None,
                error.traceback if error else None,
                error.source if error else None,
                error.log_tail if error else None,
                job.finalizer_shard,
                job.runtime,
                job.reported_estimate,
                job.reported_stderr,
                *prefix_and_stop_values(job).values(),
                job.job_id,
                event.event_id,
                event.subject,
                event.payload,
            ),
        )
        self.wrote_events = True

    async def save_progress(self, job: Job) -> None:
        """Saves a job whose progress moved, with its PROGRESS event and progress point."""
        await self.save(job, EventKind.PROGRESS)
        await self.conn.execute(
            "INSERT INTO progress_points (job_id, seq, samples_done, estimate, stderr, at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (job.job_id, *dataclasses.astuple(ProgressPoint.of(job))),
        )

    async def save_states(self, jobs: list[Job]) -> None:
        """Saves jobs that each entered a new state (with nothing else changed), with their
        STATE events, in one statement: a bulk change, like a study's cancel."""
        if not jobs:
            return
        rows = json.dumps(
            [
                {
                    "job_id": job.job_id,
                    "state": job.state.value,
                    "seq": job.seq,
                    "updated_at": job.updated_at.isoformat(),
                    "history": history_to_json(job.history),
                    **event_record(self.events.job(job, EventKind.STATE)),
                }
                for job in jobs
            ]
        )
        await self.conn.execute(
            "WITH new AS (SELECT * FROM json_to_recordset(%s::json) AS new (job_id text,"
            " state text, seq bigint, updated_at timestamptz, history jsonb, event_id text,"
            " subject text, payload bytea)),"
            " saved AS (UPDATE jobs SET state = new.state, seq = new.seq,"
            " updated_at = new.updated_at, history = new.history FROM new"
            " WHERE jobs.job_id = new.job_id)"
            " INSERT INTO outbox (event_id, subject, payload)"
            " SELECT event_id, subject, payload FROM new",
            (rows,),
        )
        self.wrote_events = True

    async def insert_event(self, event: EncodedEvent) -> None:
        await self.conn.execute(
            "INSERT INTO outbox (event_id, subject, payload) VALUES (%s, %s, %s)",
            (event.event_id, event.subject, event.payload),
        )
        self.wrote_events = True

    async def copy_jobs(self, jobs: Sequence[Job]) -> None:
        """Inserts new jobs without their events (a study's queued points, announced by the
        study's), with COPY: they have no request_id, so nothing can conflict."""
        async with self.conn.cursor().copy(COPY_JOBS) as copy:
            copy.set_types(NEW_JOB_TYPES)
            for job in jobs:
                record = insert_record(job, None)
                await copy.write_row([record[name] for name in NEW_JOB_NAMES])

    async def insert_jobs(self, batch: Sequence[tuple[Job, EncodedEvent]]) -> set[str]:
        """Inserts new jobs with their events (INSERT_JOBS); the ids of those inserted."""
        rows = json.dumps([insert_record(job, event) for job, event in batch])
        cursor = await self.conn.execute(INSERT_JOBS, (rows,))
        inserted = {job_id for (job_id,) in await cursor.fetchall()}
        self.wrote_events = self.wrote_events or bool(inserted)
        return inserted


class Database:
    """Sessions on the pool: a database failure is UNAVAILABLE (the caller retries), and a
    commit that wrote events calls `on_commit`."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], on_commit: Callable[[], None], events: EventEncoder
    ) -> None:
        self.pool = pool
        self.on_commit = on_commit
        self.events = events
        self._check: asyncio.Task[None] | None = None  # of the pool's idle connections

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """A pooled connection; each statement commits on its own."""
        try:
            async with self.pool.connection() as conn:
                db = Session(conn, self.events)
                yield db
        except (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError) as error:
            # PostgreSQL restarting or failing over, the pool closing: the caller retries. The
            # other idle connections are likely dead too: test them now, in the background, so
            # the retry is not handed one of them. One check at a time covers every caller.
            if not self.pool.closed and (self._check is None or self._check.done()):
                self._check = asyncio.create_task(self.pool.check())
            raise SimlabError(Code.UNAVAILABLE, f"database unavailable: {error}") from error
        if db.wrote_events:
            self.on_commit()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self.session() as tx, tx.conn.transaction():
            yield tx

    async def change(self, job_id: str, owner: str, change: Callable[[Job], Job | None]) -> Job:
        """Applies a state change; a late or duplicate one leaves the job as it was."""
        async with self.transaction() as tx:
            job = await tx.find_job(job_id, owner, lock=True)
            changed = change(job)
            if changed is None:
                return job
            await tx.save(changed, EventKind.STATE)
        return changed
