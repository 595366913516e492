"""Job rows in PostgreSQL. A change runs in one transaction that locks the job row, asks core
what the change is, and writes the row and its event (the outbox row) together. New jobs are
inserted with their events by one statement per batch of concurrent requests. `on_commit` is
called after each commit that wrote an event (it wakes the relay).

The pool's connections are in autocommit mode (see open_pool): a lone statement commits by
itself in one round trip; a change opens its transaction explicitly."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from simlab.common.errors import Code, SimlabError, not_found
from simlab.core.stats import Moments

from ..core import jobs as core
from ..core.jobs import BlockReport, Job, JobError, JobSpec, ProgressPoint, StateChange
from ..core.listing import Cursor
from ..core.presets import Preset
from ..core.shares import ShareLink, new_share_link, new_token, token_hash
from ..core.states import NOT_TERMINAL, STOPPING, JobState
from ..transport.convert import progress_event, state_event
from .coalesce import Coalescer

Row = dict[str, Any]
Event = tuple[str, str, bytes]  # (event_id, subject, payload)

_JOB_COLUMNS = """job_id, owner, request_id, model, parameters, seed, requested_seed, shards,
    primary_output, block_size, samples_total, blocks_total, state, seq, created_at, updated_at,
    history, blocks_done, samples_done, moments_count, moments_mean, moments_m2, summary,
    error_message, error_traceback, error_source, error_log_tail, finalizer_shard"""

_SHARE_COLUMNS = "link_id, owner, job_id, created_at, expires_at, revoked_at"


def _now() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> str:
    return uuid.uuid4().hex[:16]


def random_seed() -> int:
    """A random uint64 other than 0 (which means "pick one")."""
    return secrets.randbelow(core.MAX_UINT64) + 1


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

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
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
        every job; another owner's job is not found, exactly like an unknown one."""
        row = await self.fetch_one(
            f"SELECT {_JOB_COLUMNS} FROM jobs"
            " WHERE job_id = %(job_id)s AND (%(owner)s = '' OR owner = %(owner)s)"
            + (" FOR UPDATE" if lock else ""),
            {"job_id": job_id, "owner": owner},
        )
        if row is None:
            raise not_found(f"job {job_id}")
        return job_from_row(row)

    async def count(self, query: Any, params: Any) -> int:
        cursor = await self.conn.execute(query, params)
        row = await cursor.fetchone()
        assert row is not None, "count(*) always gives a row"
        return int(row[0])

    async def save(self, job: Job, event: Event) -> None:
        """Writes every field a change can touch, and the change's event, in one statement."""
        error = job.error
        await self.conn.execute(
            "WITH saved AS (UPDATE jobs SET state = %s, seq = %s, updated_at = %s,"
            " history = %s, blocks_done = %s, samples_done = %s,"
            " moments_count = %s, moments_mean = %s, moments_m2 = %s, summary = %s,"
            " error_message = %s, error_traceback = %s, error_source = %s,"
            " error_log_tail = %s, finalizer_shard = %s WHERE job_id = %s)"
            " INSERT INTO outbox (event_id, subject, payload) VALUES (%s, %s, %s)",
            (
                job.state.value,
                job.seq,
                job.updated_at,
                Jsonb(_history_to_json(job.history)),
                job.blocks_done,
                job.samples_done,
                job.moments.count,
                job.moments.mean,
                job.moments.m2,
                None if job.summary is None else Jsonb(job.summary),
                error.message if error else None,
                error.traceback if error else None,
                error.source if error else None,
                error.log_tail if error else None,
                job.finalizer_shard,
                job.job_id,
                *event,
            ),
        )
        self.wrote_events = True


class PostgresJobStore:
    def __init__(self, pool: AsyncConnectionPool[Any], on_commit: Callable[[], None]) -> None:
        self.pool = pool
        self.on_commit = on_commit
        self._inserts = Coalescer(self._insert_jobs)
        self._check: asyncio.Task[None] | None = None  # of the pool's idle connections

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """A pooled connection; each statement commits on its own."""
        try:
            async with self.pool.connection() as conn:
                db = Session(conn)
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

    # ---- jobs on behalf of an owner ---------------------------------------------------------

    async def create_job(self, spec: JobSpec) -> tuple[Job, bool]:
        """(job, created): a resubmitted request_id gives back its job with created=False."""
        spec.validate()
        job = core.new_job(spec, new_job_id(), spec.seed or random_seed(), _now())
        if await self._inserts.submit((job, state_event(job))):
            return job, True
        async with self.session() as db:
            row = await db.fetch_one(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE owner = %s AND request_id = %s",
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

    async def _insert_jobs(self, batch: list[tuple[Job, Event]]) -> list[bool]:
        """Inserts new jobs with their events in one statement (one round trip, one commit);
        False for a job whose owner's request_id already names a job (nothing written).
        The rows travel as one JSON array: far cheaper to encode than one array per column."""
        rows = json.dumps([_insert_record(job, event) for job, event in batch])
        async with self.session() as db:
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
        async with self.session() as db:
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
            columns=sql.SQL(_JOB_COLUMNS),
            where=sql.SQL(" AND ").join(conditions),
            limit=limit + 1,
        )
        async with self.session() as db:
            rows = await db.fetch_all(query)
        found = [job_from_row(row) for row in rows[:limit]]
        more = len(rows) > limit
        return found, Cursor(found[-1].created_at, found[-1].job_id) if more else None

    async def cancel_job(self, job_id: str, owner: str) -> Job:
        return await self._change(
            job_id,
            owner,
            lambda job: core.transition(job, JobState.CANCELLING, _now(), "cancel requested"),
        )

    async def progress_history(self, job_id: str, owner: str = "") -> list[ProgressPoint]:
        async with self.session() as db:
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
        return await self._change(
            job_id, "", lambda job: core.transition(job, state, _now(), reason, error=error)
        )

    async def list_active_jobs(self, states: Sequence[JobState]) -> list[Job]:
        async with self.session() as db:
            rows = await db.fetch_all(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state = ANY(%s) ORDER BY created_at",
                ([state.value for state in states or NOT_TERMINAL],),
            )
        return [job_from_row(row) for row in rows]

    # ---- workers ----------------------------------------------------------------------------

    async def start_shard(self, job_id: str, shard: int) -> tuple[Job, list[int], bool]:
        """(job, the shard's recorded blocks, stop)."""
        async with self.transaction() as tx:
            job = await tx.find_job(job_id, lock=True)
            core.check_shard(job, shard)
            if job.state in STOPPING:
                return job, [], True
            running = core.transition(job, JobState.RUNNING, _now(), f"shard {shard} started")
            if running is not None:
                job = running
                await tx.save(job, state_event(job))
            await tx.conn.execute(
                "INSERT INTO job_shards (job_id, shard) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (job_id, shard),
            )
            rows = await tx.fetch_all(
                "SELECT block FROM block_stats WHERE job_id = %s AND shard = %s ORDER BY block",
                (job_id, shard),
            )
        return job, [row["block"] for row in rows], False

    async def report_blocks(self, job_id: str, shard: int, blocks: Sequence[BlockReport]) -> bool:
        """Records the blocks not recorded yet; the answer is whether the shard should stop."""
        async with self.transaction() as tx:
            job = await tx.find_job(job_id, lock=True)
            core.check_blocks(job, shard, blocks)
            if not core.accepts_blocks(job):
                return True
            unique = list({report.block: report for report in blocks}.values())
            cursor = await tx.conn.execute(
                "INSERT INTO block_stats (job_id, block, shard, stats)"
                " SELECT %s, block, %s, stats FROM unnest(%s::bigint[], %s::bytea[])"
                " AS new (block, stats) ON CONFLICT DO NOTHING RETURNING block",
                (job_id, shard, [r.block for r in unique], [r.stats for r in unique]),
            )
            inserted = {block for (block,) in await cursor.fetchall()}
            if inserted:
                job = core.record_blocks(job, [r for r in unique if r.block in inserted], _now())
                await tx.save(job, progress_event(job))
                point = ProgressPoint.of(job)
                await tx.conn.execute(
                    "INSERT INTO progress_points (job_id, seq, samples_done, estimate, stderr, at)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    (job_id, *dataclasses.astuple(point)),
                )
        return job.state in STOPPING

    async def finish_shard(self, job_id: str, shard: int) -> tuple[bool, list[bytes], Job]:
        """(finalize, every block's statistics in block order when finalize, job)."""
        async with self.transaction() as tx:
            job = await tx.find_job(job_id, lock=True)
            core.check_shard(job, shard)
            if not core.accepts_blocks(job):
                return False, [], job
            have = await tx.count(
                "SELECT count(*) FROM block_stats WHERE job_id = %s AND shard = %s",
                (job_id, shard),
            )
            expected = len(job.shard_blocks(shard))
            if have < expected:
                raise SimlabError(
                    Code.FAILED_PRECONDITION,
                    f"shard {shard} of job {job_id} has reported {have} of its {expected} blocks",
                )
            await tx.conn.execute(
                "INSERT INTO job_shards (job_id, shard, done) VALUES (%s, %s, true)"
                " ON CONFLICT (job_id, shard) DO UPDATE SET done = true",
                (job_id, shard),
            )
            done = await tx.count(
                "SELECT count(*) FROM job_shards WHERE job_id = %s AND done", (job_id,)
            )
            if not core.claims_finalization(job, shard, done == job.shards):
                return False, [], job
            if job.finalizer_shard is None:
                job = dataclasses.replace(job, finalizer_shard=shard)
                await tx.conn.execute(
                    "UPDATE jobs SET finalizer_shard = %s WHERE job_id = %s", (shard, job_id)
                )
            cursor = await tx.conn.execute(
                "SELECT stats FROM block_stats WHERE job_id = %s ORDER BY block", (job_id,)
            )
            stats = [stats for (stats,) in await cursor.fetchall()]
        return True, stats, job

    async def complete_job(self, job_id: str, summary: dict[str, Any]) -> Job:
        return await self._change(
            job_id,
            "",
            lambda job: core.transition(job, JobState.SUCCEEDED, _now(), "done", summary=summary),
        )

    async def fail_job(self, job_id: str, shard: int, error: JobError) -> Job:
        reason = f"shard {shard} failed: {error.message}"
        return await self._change(
            job_id,
            "",
            lambda job: core.transition(job, JobState.FAILED, _now(), reason, error=error),
        )

    async def _change(self, job_id: str, owner: str, change: Callable[[Job], Job | None]) -> Job:
        """Applies a state change; a late or duplicate one leaves the job as it was."""
        async with self.transaction() as tx:
            job = await tx.find_job(job_id, owner, lock=True)
            changed = change(job)
            if changed is None:
                return job
            await tx.save(changed, state_event(changed))
        return changed

    # ---- presets ----------------------------------------------------------------------------

    async def list_presets(self, owner: str, model: str) -> list[Preset]:
        async with self.session() as db:
            rows = await db.fetch_all(
                "SELECT name, model, parameters, seed, shards, updated_at FROM presets"
                " WHERE owner = %(owner)s AND (%(model)s = '' OR model = %(model)s) ORDER BY name",
                {"owner": owner, "model": model},
            )
        return [_preset_from_row(row) for row in rows]

    async def save_preset(self, owner: str, preset: Preset) -> Preset:
        preset.validate()
        saved = dataclasses.replace(preset, updated_at=_now())
        async with self.session() as db:
            await db.conn.execute(
                "INSERT INTO presets (owner, name, model, parameters, seed, shards, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (owner, name) DO UPDATE SET"
                " model = excluded.model, parameters = excluded.parameters,"
                " seed = excluded.seed, shards = excluded.shards, updated_at = excluded.updated_at",
                (
                    owner,
                    saved.name,
                    saved.model,
                    Jsonb(saved.parameters),
                    saved.seed,
                    saved.shards,
                    saved.updated_at,
                ),
            )
        return saved

    async def delete_preset(self, owner: str, name: str) -> None:
        async with self.session() as db:
            cursor = await db.conn.execute(
                "DELETE FROM presets WHERE owner = %s AND name = %s", (owner, name)
            )
            if cursor.rowcount == 0:
                raise not_found(f"preset {name!r}")

    # ---- share links ------------------------------------------------------------------------

    async def create_share_link(
        self, owner: str, job_id: str, ttl_seconds: int
    ) -> tuple[ShareLink, str]:
        """(link, token): the token exists only in this answer; the row keeps its hash."""
        link = new_share_link(owner, job_id, ttl_seconds, _now())
        token = new_token()
        async with self.session() as db:
            await db.find_job(job_id, owner)
            await db.conn.execute(
                "INSERT INTO share_links (link_id, token_sha256, owner, job_id, created_at,"
                " expires_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (link.link_id, token_hash(token), owner, job_id, link.created_at, link.expires_at),
            )
        return link, token

    async def list_share_links(self, owner: str, job_id: str) -> list[ShareLink]:
        async with self.session() as db:
            await db.find_job(job_id, owner)
            rows = await db.fetch_all(
                f"SELECT {_SHARE_COLUMNS} FROM share_links WHERE job_id = %s AND owner = %s"
                " ORDER BY created_at DESC, link_id",
                (job_id, owner),
            )
        return [ShareLink(**row) for row in rows]

    async def revoke_share_link(self, owner: str, link_id: str) -> ShareLink:
        """Idempotent: revoking a revoked link keeps its first revocation time."""
        async with self.session() as db:
            row = await db.fetch_one(
                "UPDATE share_links SET revoked_at = coalesce(revoked_at, %s)"
                f" WHERE link_id = %s AND owner = %s RETURNING {_SHARE_COLUMNS}",
                (_now(), link_id, owner),
            )
        if row is None:
            raise not_found(f"share link {link_id}")
        return ShareLink(**row)

    async def resolve_share_token(self, token: str) -> ShareLink:
        async with self.session() as db:
            row = await db.fetch_one(
                f"SELECT {_SHARE_COLUMNS} FROM share_links WHERE token_sha256 = %s",
                (token_hash(token),),
            )
        if row is None:
            raise SimlabError(Code.UNAUTHENTICATED, "unknown share link")
        link = ShareLink(**row)
        link.check_usable(_now())
        return link


def job_from_row(row: Row) -> Job:
    error = None
    if row["error_message"] is not None:
        error = JobError(
            row["error_message"],
            row["error_traceback"],
            row["error_source"],
            row["error_log_tail"],
        )
    return Job(
        job_id=row["job_id"],
        owner=row["owner"],
        request_id=row["request_id"],
        model=row["model"],
        parameters=row["parameters"],
        seed=int(row["seed"]),
        requested_seed=int(row["requested_seed"]),
        shards=row["shards"],
        primary_output=row["primary_output"],
        block_size=row["block_size"],
        samples_total=row["samples_total"],
        blocks_total=row["blocks_total"],
        state=JobState(row["state"]),
        seq=row["seq"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        history=tuple(
            StateChange(
                JobState(entry["state"]), datetime.fromisoformat(entry["at"]), entry["reason"]
            )
            for entry in row["history"]
        ),
        blocks_done=row["blocks_done"],
        samples_done=row["samples_done"],
        moments=Moments(row["moments_count"], row["moments_mean"], row["moments_m2"]),
        summary=row["summary"],
        error=error,
        finalizer_shard=row["finalizer_shard"],
    )


def _insert_record(job: Job, event: Event) -> dict[str, Any]:
    event_id, subject, payload = event
    return {
        "job_id": job.job_id,
        "owner": job.owner,
        "request_id": job.request_id,
        "model": job.model,
        "parameters": job.parameters,
        "seed": job.seed,
        "requested_seed": job.requested_seed,
        "shards": job.shards,
        "primary_output": job.primary_output,
        "block_size": job.block_size,
        "samples_total": job.samples_total,
        "blocks_total": job.blocks_total,
        "state": job.state.value,
        "seq": job.seq,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "history": _history_to_json(job.history),
        "event_id": event_id,
        "subject": subject,
        "payload": "\\x" + payload.hex(),  # bytea's hex input format
    }


def _history_to_json(history: Sequence[StateChange]) -> list[dict[str, str]]:
    return [
        {"state": change.state.value, "at": change.at.isoformat(), "reason": change.reason}
        for change in history
    ]


def _preset_from_row(row: Row) -> Preset:
    return Preset(
        name=row["name"],
        model=row["model"],
        parameters=row["parameters"],
        seed=int(row["seed"]),
        shards=row["shards"],
        updated_at=row["updated_at"],
    )
