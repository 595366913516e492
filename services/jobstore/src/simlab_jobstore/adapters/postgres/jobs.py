"""Creating, reading, listing and cancelling jobs, and the runner's state reports."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence

from psycopg import sql

from simlab.common.errors import Code, SimlabError

from ...core import jobs as core
from ...core.events import EncodedEvent, EventKind
from ...core.jobs import Job, JobError, JobSpec, ProgressPoint
from ...core.listing import Cursor
from ...core.states import NOT_TERMINAL, JobState
from ..coalesce import Coalescer
from .rows import JOB_COLUMNS, insert_record, job_from_row
from .session import Database, now

NewJob = tuple[Job, EncodedEvent]


def new_job_id() -> str:
    return uuid.uuid4().hex[:16]


def random_seed() -> int:
    """A random uint64 other than 0 (which means "pick one")."""
    return secrets.randbelow(core.MAX_UINT64) + 1


class Jobs:
    db: Database
    _inserts: Coalescer[NewJob, bool]  # of _insert_jobs

    # ---- on behalf of an owner --------------------------------------------------------------

    async def create_job(self, spec: JobSpec) -> tuple[Job, bool]:
        """(job, created): a resubmitted request_id gives back its job with created=False."""
        spec.validate()
        job = core.new_job(spec, new_job_id(), spec.seed or random_seed(), now())
        if await self._inserts.submit((job, self.db.encode(job, EventKind.STATE))):
            return job, True
        async with self.db.session() as db:
            row = await db.fetch_one(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE owner = %s AND request_id = %s",
                (spec.owner, spec.request_id),
            )
        # ON CONFLICT waited for the other insert to commit, so its row is there.
        assert row is not None
        existing = job_from_row(row)
        if not core.is_resubmission(existing, spec):
            raise SimlabError(
                Code.ALREADY_EXISTS,
                f"request_id {spec.request_id!r} was already used for job {existing.job_id}"
                " with different model, parameters, seed or shards",
                field="request_id",
            )
        return existing, False

    async def _insert_jobs(self, batch: list[NewJob]) -> list[bool]:
        """Inserts new jobs with their events in one statement (one round trip, one commit);
        False for a job whose owner's request_id already names a job (nothing written).
        The rows travel as one JSON array: far cheaper to encode than one array per column."""
        rows = json.dumps([insert_record(job, event) for job, event in batch])
        async with self.db.session() as db:
            cursor = await db.conn.execute(
                "WITH new AS (SELECT * FROM json_to_recordset(%s::json) AS new ("
                " job_id text, owner text, request_id text, model text, parameters jsonb,"
                " seed numeric, requested_seed numeric, shards integer, primary_output text,"
                " block_size bigint, samples_total bigint, blocks_total bigint, state text,"
                " seq bigint, created_at timestamptz, updated_at timestamptz, history jsonb,"
                " event_id text, subject text, payload bytea)),"
                " new_jobs AS (INSERT INTO jobs (job_id, owner, request_id, model, parameters,"
                " seed, requested_seed, shards, primary_output, block_size, samples_total,"
                " blocks_total, state, seq, created_at, updated_at, history)"
                " SELECT job_id, owner, request_id, model, parameters, seed, requested_seed,"
                " shards, primary_output, block_size, samples_total, blocks_total, state, seq,"
                " created_at, updated_at, history FROM new"
                " ON CONFLICT (owner, request_id) WHERE request_id <> '' DO NOTHING"
                " RETURNING job_id),"
                " events AS (INSERT INTO outbox (event_id, subject, payload)"
                " SELECT event_id, subject, payload FROM new JOIN new_jobs USING (job_id))"
                " SELECT job_id FROM new_jobs",
                (rows,),
            )
            inserted = {job_id for (job_id,) in await cursor.fetchall()}
            db.wrote_events = bool(inserted)
        return [job.job_id in inserted for job, _ in batch]

    async def get_job(self, job_id: str, owner: str = "") -> Job:
        async with self.db.session() as db:
            return await db.find_job(job_id, owner)

    async def list_jobs(
        self,
        owner: str,
        *,
        model: str,
        states: Sequence[JobState],
        limit: int,
        after: Cursor | None,
        id_prefix: str = "",
    ) -> tuple[list[Job], Cursor | None]:
        """A page of the owner's jobs, newest first, and the cursor of the next page.
        `id_prefix` is hex digits only (core.listing.job_id_prefix), so LIKE needs no escaping."""
        conditions = [sql.SQL("owner = {}").format(owner)]
        if model:
            conditions.append(sql.SQL("model = {}").format(model))
        if id_prefix:
            conditions.append(sql.SQL("job_id LIKE {}").format(id_prefix + "%"))
        if states:
            conditions.append(sql.SQL("state = ANY({})").format([s.value for s in states]))
        if after is not None:
            conditions.append(
                sql.SQL("(created_at, job_id) < ({}, {})").format(after.created_at, after.job_id)
            )
        query = sql.SQL(
            "SELECT {columns} FROM jobs WHERE {where}"
            " ORDER BY created_at DESC, job_id DESC LIMIT {limit}"
        ).format(
            columns=sql.SQL(JOB_COLUMNS),
            where=sql.SQL(" AND ").join(conditions),
            limit=limit + 1,
        )
        async with self.db.session() as db:
            rows = await db.fetch_all(query)
        found = [job_from_row(row) for row in rows[:limit]]
        more = len(rows) > limit
        return found, Cursor(found[-1].created_at, found[-1].job_id) if more else None

    async def cancel_job(self, job_id: str, owner: str) -> Job:
        return await self.db.change(
            job_id,
            owner,
            lambda job: core.transition(job, JobState.CANCELLING, now(), "cancel requested"),
        )

    async def progress_history(self, job_id: str, owner: str = "") -> list[ProgressPoint]:
        async with self.db.session() as db:
            await db.find_job(job_id, owner)
            rows = await db.fetch_all(
                "SELECT seq, samples_done, estimate, stderr, at FROM progress_points"
                " WHERE job_id = %s ORDER BY seq",
                (job_id,),
            )
        return [ProgressPoint(**row) for row in rows]

    # ---- the runner ---------------------------------------------------------------------------

    async def report_state(
        self, job_id: str, state: JobState, reason: str, error: JobError | None
    ) -> Job:
        return await self.db.change(
            job_id, "", lambda job: core.transition(job, state, now(), reason, error=error)
        )

    async def list_active_jobs(self, states: Sequence[JobState]) -> list[Job]:
        async with self.db.session() as db:
            rows = await db.fetch_all(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = ANY(%s) ORDER BY created_at",
                ([state.value for state in states or NOT_TERMINAL],),
            )
        return [job_from_row(row) for row in rows]
