"""Studies: created with all their points in one transaction and one StudyQueuedEvent, read with
their points counted by state, cancelled in bulk, and two points compared from their blocks.
A point is an ordinary run job (study_id, study_point): every job path applies to it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from psycopg import sql
from psycopg.types.json import Jsonb

from simlab.common.errors import Code, SimlabError, invalid
from simlab.core.stats import Moments

from ...core import jobs as core
from ...core import studies, targets
from ...core.events import EventKind
from ...core.jobs import Job
from ...core.listing import Cursor
from ...core.models import ModelKind
from ...core.states import TERMINAL, JobState
from ...core.studies import Comparison, NewStudy, PointTally, Study
from .jobs import Jobs, new_ids, new_run
from .rows import (
    JOB_COLUMNS,
    STUDY_COLUMNS,
    Row,
    block_moments,
    job_from_row,
    study_from_row,
    tally_from_row,
)
from .session import Session, now

# A study's points counted by state (and by study, for a page of studies).
_TALLIES = (
    "SELECT study_id, state, count(*) AS points, sum(samples_done)::bigint AS samples_done,"
    " sum(samples_total)::bigint AS samples_total, max(updated_at) AS last_change,"
    " min(created_at) AS first_created, count(*) FILTER (WHERE cached_from <> '') AS reused,"
    " count(*) FILTER (WHERE updated_at >= %(since)s AND cached_from = '') AS changed_recently"
    " FROM jobs WHERE study_id = ANY(%(study_ids)s) GROUP BY study_id, state"
)
_TERMINAL = [state.value for state in TERMINAL]


class Studies(Jobs):
    """Extends Jobs: a study's points are created through the same paths as CreateJob's job."""

    max_study_points: int

    async def create_study(self, new: NewStudy) -> tuple[Study, bool]:
        """(study, created): a resubmitted request_id gives back its study with created=False.
        Every point is inserted in one transaction, as QUEUED, or SUCCEEDED when the result
        cache has it (with its own event, as CreateJob's hits); the queued ones are announced
        by one StudyQueuedEvent."""
        new.validate(self.max_study_points)
        if new.request_id:
            async with self.db.session() as db:
                earlier = await _earlier_study(db, new)
            if earlier is not None:
                return earlier, False
        first, code = await self._with_registered_code(new.point_job_spec(0))
        if code.kind is ModelKind.SCRIPT:
            raise invalid("model", "a script model runs as one process: a study cannot sweep it")
        new = dataclasses.replace(new, code_sha256=first.code_sha256)
        at = now()
        study_id, *job_ids = new_ids(1 + len(new.points))
        points = []
        for index, job_id in enumerate(job_ids):
            spec = new.point_job_spec(index, study_id)
            studies.validate_point(spec, index)
            points.append(new_run(spec, code, job_id, at))
        if not new.no_cache:
            fingerprints = {job.fingerprint for job in points if job.fingerprint is not None}
            found = await self._cached_results(fingerprints, new.owner, code.shared)
            points = [
                targets.reuse(job, found[job.fingerprint], at) if job.fingerprint in found else job
                for job in points
            ]
        queued = [job for job in points if job.state is JobState.QUEUED]
        hits = [job for job in points if job.state is not JobState.QUEUED]
        async with self.db.transaction() as tx:
            # One creator per owner at a time: the quota's count stays true until the insert.
            await tx.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", ("study_points:" + new.owner,)
            )
            created = await tx.fetch_one(
                "INSERT INTO studies (study_id, owner, request_id, title, spec, model,"
                " model_version, primary_output, swept, points, points_digest, created_at,"
                " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (owner, request_id) WHERE request_id <> '' DO NOTHING"
                " RETURNING study_id",
                (
                    study_id,
                    new.owner,
                    new.request_id,
                    new.title,
                    new.spec,
                    new.model,
                    new.model_version,
                    new.primary_output,
                    Jsonb(list(new.swept)),
                    len(points),
                    new.points_digest(),
                    at,
                    at,
                ),
            )
            if created is None:
                # The same request_id, committed by another call while this one prepared.
                earlier = await _earlier_study(tx, new)
                assert earlier is not None, "ON CONFLICT saw the other study's row"
                return earlier, False
            held = await tx.count(
                "SELECT count(*) FROM jobs WHERE owner = %s AND study_id IS NOT NULL"
                " AND state <> ALL(%s)",
                (new.owner, _TERMINAL),
            )
            self.quotas.check_active_study_points(held, len(queued))
            # Queued points are announced with their study; cache hits each by its event.
            if queued:
                await tx.copy_jobs(queued)
                await tx.insert_event(tx.events.study_queued(study_id))
            if hits:
                await tx.insert_jobs([(job, tx.events.job(job, EventKind.STATE)) for job in hits])
            (study,) = await _with_progress(tx, [await tx.find_study(study_id)])
        return study, True

    async def get_study(self, study_id: str, owner: str = "") -> Study:
        async with self.db.session() as db:
            (study,) = await _with_progress(db, [await db.find_study(study_id, owner)])
        return study

    async def list_studies(
        self, owner: str, *, limit: int, after: Cursor | None
    ) -> tuple[list[Study], Cursor | None]:
        """A page of the owner's studies, newest first, and the cursor of the next page."""
        conditions = [sql.SQL("owner = {}").format(owner)]
        if after is not None:
            conditions.append(
                sql.SQL("(created_at, study_id) < ({}, {})").format(after.created_at, after.id)
            )
        query = sql.SQL(
            "SELECT {columns} FROM studies WHERE {where}"
            " ORDER BY created_at DESC, study_id DESC LIMIT {limit}"
        ).format(
            columns=sql.SQL(STUDY_COLUMNS),
            where=sql.SQL(" AND ").join(conditions),
            limit=limit + 1,
        )
        async with self.db.session() as db:
            rows = await db.fetch_all(query)
            found = await _with_progress(db, rows[:limit])
        more = len(rows) > limit
        return found, Cursor(found[-1].created_at, found[-1].study_id) if more else None

    async def list_study_points(
        self,
        study_id: str,
        owner: str,
        *,
        after: int,
        limit: int,
        changed_since: datetime | None = None,
    ) -> tuple[list[Job], int | None]:
        """The study's points after index `after`, in index order (only those whose job
        changed at or after `changed_since`, when given), and the last index of the page
        when more follow."""
        conditions = [
            sql.SQL("study_id = {}").format(study_id),
            sql.SQL("study_point > {}").format(after),
        ]
        if changed_since is not None:
            conditions.append(sql.SQL("updated_at >= {}").format(changed_since))
        query = sql.SQL(
            "SELECT {columns} FROM jobs WHERE {where} ORDER BY study_point LIMIT {limit}"
        ).format(
            columns=sql.SQL(JOB_COLUMNS),
            where=sql.SQL(" AND ").join(conditions),
            limit=limit + 1,
        )
        async with self.db.session() as db:
            await db.find_study(study_id, owner)
            rows = await db.fetch_all(query)
        found = [job_from_row(row) for row in rows[:limit]]
        return found, found[-1].study_point if len(rows) > limit else None

    async def cancel_study(self, study_id: str, owner: str) -> Study:
        """Cancels every point that has not ended, in one transaction: a queued one ends
        CANCELLED at once, a launched one becomes CANCELLING for the runner to stop, each
        with its event. A study whose points all ended stays as it is."""
        async with self.db.transaction() as tx:
            study = await tx.find_study(study_id, owner)
            # Points first, then the study's row: the order every change takes (a point's
            # change locks its job row alone), so no two transactions wait on each other.
            rows = await tx.fetch_all(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE study_id = %s AND state <> ALL(%s)"
                " ORDER BY study_point FOR UPDATE",
                (study_id, _TERMINAL),
            )
            at = now()
            cancelled = [core.cancel_point(job_from_row(row), at) for row in rows]
            await tx.save_states([job for job in cancelled if job is not None])
            if rows and not study["cancelled"]:
                await tx.conn.execute(
                    "UPDATE studies SET cancelled = true, updated_at = %s WHERE study_id = %s",
                    (at, study_id),
                )
            (found,) = await _with_progress(tx, [await tx.find_study(study_id)])
        return found

    async def compare_points(
        self, study_id: str, owner: str, a: int, b: int
    ) -> tuple[Job, Job, Comparison]:
        """Points a and b (both SUCCEEDED) and b - a from their paired blocks."""
        async with self.db.session() as db:
            study = await db.find_study(study_id, owner)
            rows = await db.fetch_all(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE study_id = %s AND study_point = ANY(%s)",
                (study_id, [a, b]),
            )
            points = {row["study_point"]: job_from_row(row) for row in rows}
            for field, index in (("a", a), ("b", b)):
                if index not in points:
                    raise invalid(
                        field,
                        f"study {study_id} has points 0 to {study['points'] - 1}, got {index}",
                    )
                studies.check_comparable(points[index], index)
            a_blocks = await _blocks_used(db, points[a])
            b_blocks = await _blocks_used(db, points[b])
        comparison = studies.compare(points[a], points[b], a_blocks, b_blocks, (a, b))
        return points[a], points[b], comparison


async def _earlier_study(db: Session, new: NewStudy) -> Study | None:
    """The study the owner created with this request_id, if any; ALREADY_EXISTS when it asked
    for another study."""
    row = await db.fetch_one(
        f"SELECT {STUDY_COLUMNS} FROM studies WHERE owner = %s AND request_id = %s",
        (new.owner, new.request_id),
    )
    if row is None:
        return None
    (earlier,) = await _with_progress(db, [row])
    if not earlier.is_resubmission(new):
        raise SimlabError(
            Code.ALREADY_EXISTS,
            f"request_id {new.request_id!r} was already used for study {earlier.study_id}"
            " with another model, version or sweep",
            field="request_id",
        )
    return earlier


async def _blocks_used(db: Session, job: Job) -> dict[int, Moments]:
    """The primary output's moments of each block the finished job's result merged (a cache
    hit's: those of the run it reused)."""
    used = studies.blocks_used(job)
    rows = await db.fetch_all(
        "SELECT block, count, mean, m2 FROM block_stats WHERE job_id = %s AND block >= %s"
        " AND block < %s AND count IS NOT NULL",
        (job.cached_from or job.job_id, used.start, used.stop),
    )
    return {row["block"]: block_moments(row) for row in rows}


async def _with_progress(db: Session, rows: Sequence[Row]) -> list[Study]:
    """The studies of these rows with their progress, their points counted by state in one
    query for them all."""
    at = now()
    tallies: dict[str, list[PointTally]] = {row["study_id"]: [] for row in rows}
    for tally_row in await db.fetch_all(
        _TALLIES, {"since": at - studies.RATE_WINDOW, "study_ids": list(tallies)}
    ):
        tallies[tally_row.pop("study_id")].append(tally_from_row(tally_row))
    found = []
    for row in rows:
        counted = tallies[row["study_id"]]
        first_queued = studies.first_queued_at(counted)
        queue_ahead = 0 if first_queued is None else await _queue_ahead(db, row, first_queued)
        progress = studies.study_progress(
            points=row["points"],
            cancelled=row["cancelled"],
            updated_at=row["updated_at"],
            tallies=counted,
            queue_ahead=queue_ahead,
        )
        found.append(study_from_row(row, progress))
    return found


async def _queue_ahead(db: Session, row: Row, first_queued: datetime) -> int:
    """Queued runs of anyone, of other studies or none, queued before the study's first."""
    return await db.count(
        "SELECT count(*) FROM jobs WHERE state = 'QUEUED' AND kind = 'run'"
        " AND created_at < %s AND study_id IS DISTINCT FROM %s",
        (first_queued, row["study_id"]),
    )
