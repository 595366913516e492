"""Creating, reading, listing and cancelling jobs, and the runner's state reports."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from simlab.common.errors import Code, SimlabError, invalid

from ...core import jobs as core
from ...core import targets
from ...core.events import EncodedEvent, EventKind
from ...core.jobs import Job, JobError, JobSpec, ProgressPoint
from ...core.listing import Cursor
from ...core.models import ModelKind, model_not_found
from ...core.quotas import Quotas
from ...core.states import NOT_TERMINAL, TERMINAL, JobState
from ..coalesce import Coalescer
from .rows import JOB_COLUMNS, block_moments, job_from_row
from .session import Database, now

NewJob = tuple[Job, EncodedEvent]
# Registered versions whose kind and code a process keeps in memory.
MAX_KNOWN_VERSIONS = 10_000


def new_id() -> str:
    """A new job's or study's id: 16 hex digits."""
    return uuid.uuid4().hex[:16]


def new_ids(count: int) -> list[str]:
    """`count` new ids at once (a study's points): one read of the system's randomness."""
    digits = secrets.token_hex(8 * count)
    return [digits[i : i + 16] for i in range(0, len(digits), 16)]


def random_seed() -> int:
    """A random uint64 other than 0 (which means "pick one")."""
    return secrets.randbelow(core.MAX_UINT64) + 1


@dataclass(frozen=True)
class RegisteredCode:
    """What a job's registered version says of its code."""

    kind: ModelKind
    code_sha256: str
    # The runtime the version was inspected on: part of a run's fingerprint.
    runtime: str = ""
    # Built-in or public: its runs' results may be reused by anyone, not only their owner.
    shared: bool = False


# Code outside the registry (model_version 0): blocks, never reused.
UNREGISTERED = RegisteredCode(ModelKind.BLOCKS, "")


def new_run(spec: JobSpec, code: RegisteredCode, job_id: str, at: datetime) -> Job:
    """The queued job `spec` (validated) asks for: its seed drawn when it asked for none, its
    fingerprint for the result cache."""
    script = code.kind is ModelKind.SCRIPT
    job = core.new_job(spec, job_id, spec.seed or random_seed(), at, script=script)
    return dataclasses.replace(job, fingerprint=targets.fingerprint(job, code.runtime))


class Jobs:
    db: Database
    quotas: Quotas
    _inserts: Coalescer[NewJob, bool]  # of _insert_jobs
    _versions: dict[tuple[str, int], RegisteredCode]  # of _registered

    # ---- on behalf of an owner --------------------------------------------------------------

    async def create_job(self, spec: JobSpec) -> tuple[Job, bool]:
        """(job, created): a resubmitted request_id gives back its job with created=False. A
        run whose fingerprint matches a finished run that the owner may reuse is created
        SUCCEEDED with that run's result (unless no_cache); a top-up (extends) starts with
        the blocks it shares with the run it extends."""
        spec, code = await self._with_registered_code(spec)
        spec.validate(script=code.kind is ModelKind.SCRIPT)
        job = new_run(spec, code, new_id(), now())
        # Checked even when the cache answers: a top-up of a run it may not extend is refused.
        extended = await self._extension_source(spec) if spec.extends else None
        if extended is not None:
            job = dataclasses.replace(job, extends=extended.job_id)
        source = None
        if job.fingerprint is not None and not spec.no_cache:
            found = await self._cached_results([job.fingerprint], spec.owner, code.shared)
            source = found.get(job.fingerprint)
        if source is not None:
            job = targets.reuse(job, source, job.created_at)
        else:
            await self._check_active_jobs(spec)
        if extended is not None and source is None:
            inserted = await self._insert_extension(job, extended)
        else:
            created = await self._inserts.submit((job, self.db.events.job(job, EventKind.STATE)))
            inserted = job if created else None
        if inserted is not None:
            return inserted, True
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
                " with different model, parameters, seed, shards or precision",
                field="request_id",
            )
        return existing, False

    async def _cached_results(
        self, fingerprints: Collection[str], owner: str, shared: bool
    ) -> dict[str, Job]:
        """For each fingerprint that has one, the first finished run with it that `owner` may
        reuse: their own, or anyone's when the code is built-in or public. A cache hit is never
        itself a source. One query for any number of fingerprints (a study's points)."""
        if not fingerprints:
            return {}
        async with self.db.session() as db:
            rows = await db.fetch_all(
                f"SELECT DISTINCT ON (fingerprint) {JOB_COLUMNS} FROM jobs"
                " WHERE fingerprint = ANY(%s) AND state = 'SUCCEEDED' AND cached_from = ''"
                " AND (owner = %s OR %s) ORDER BY fingerprint, created_at",
                (list(fingerprints), owner, shared),
            )
        return {row["fingerprint"]: job_from_row(row) for row in rows}

    async def _extension_source(self, spec: JobSpec) -> Job:
        """The run a top-up extends (the run it reused when that is a cache hit), once it is
        checked that the top-up may reuse its blocks. Finished, so it changes no more."""
        async with self.db.session() as db:
            source = await db.find_job(spec.extends, spec.owner)
            if source.cached_from:
                source = await db.find_job(source.cached_from)
        targets.check_extension(spec, source)
        return source

    async def _insert_extension(self, job: Job, source: Job) -> Job | None:
        """Inserts a top-up with the blocks it shares with `source`, counted into its progress
        and its prefix, in one transaction; None when its request_id already names a job
        (nothing written)."""
        reused = targets.reusable_blocks(source, job)
        async with self.db.transaction() as tx:
            # Rows of before the blocks' moments were recorded are computed again.
            rows = await tx.fetch_all(
                "SELECT block, count, mean, m2 FROM block_stats WHERE job_id = %s AND block < %s"
                " AND count IS NOT NULL ORDER BY block",
                (source.job_id, reused),
            )
            job = targets.extended(
                job,
                source,
                [(row["block"], block_moments(row)) for row in rows],
                job.created_at,
            )
            if not await tx.insert_jobs([(job, tx.events.job(job, EventKind.STATE))]):
                return None
            await tx.conn.execute(
                "INSERT INTO block_stats (job_id, block, shard, stats, count, mean, m2)"
                " SELECT %s, block, block %% %s, stats, count, mean, m2 FROM block_stats"
                " WHERE job_id = %s AND block < %s AND count IS NOT NULL",
                (job.job_id, job.shards, source.job_id, reused),
            )
        return job

    async def _check_active_jobs(self, spec: JobSpec) -> None:
        """Refuses a new job past the owner's active-jobs quota (studies' points have their
        own); a resubmission gets its job back as always. Concurrent submissions may pass the
        limit by as many as are in flight (the count and the batched insert are not one
        transaction)."""
        terminal = [state.value for state in TERMINAL]
        async with self.db.session() as db:
            active = await db.count(
                "SELECT count(*) FROM jobs WHERE owner = %s AND state <> ALL(%s)"
                " AND study_id IS NULL",
                (spec.owner, terminal),
            )
            if active < self.quotas.active_jobs or (
                spec.request_id
                and await db.count(
                    "SELECT count(*) FROM jobs WHERE owner = %s AND request_id = %s",
                    (spec.owner, spec.request_id),
                )
            ):
                return
        self.quotas.check_active_jobs(active)

    async def _with_registered_code(self, spec: JobSpec) -> tuple[JobSpec, RegisteredCode]:
        """The spec with its version's code, and what the registry says of that code: a
        version that is not registered is refused, and a code_sha256 left empty is filled in.
        Without a version (model_version 0), code of before the registry: blocks."""
        if spec.model_version <= 0:
            return spec, UNREGISTERED
        code = await self._registered(spec.model, spec.model_version)
        if spec.code_sha256 and spec.code_sha256 != code.code_sha256:
            raise invalid(
                "code_sha256",
                f"is not the code of {spec.model}@v{spec.model_version} ({code.code_sha256})",
            )
        return dataclasses.replace(spec, code_sha256=code.code_sha256), code

    async def _registered(self, name: str, version: int) -> RegisteredCode:
        """A registered version's code. Versions never change, so what was read once is kept
        (up to a bound) and submissions of it need no query."""
        key = (name, version)
        if key not in self._versions:
            async with self.db.session() as db:
                row = await db.fetch_one(
                    "SELECT kind, code_sha256, runtime, builtin OR public AS shared FROM models"
                    " WHERE name = %s AND version = %s",
                    key,
                )
            if row is None:
                raise model_not_found(name, version)
            if len(self._versions) >= MAX_KNOWN_VERSIONS:
                self._versions.clear()
            self._versions[key] = RegisteredCode(
                ModelKind(row["kind"]), row["code_sha256"], row["runtime"], row["shared"]
            )
        return self._versions[key]

    async def _insert_jobs(self, batch: list[NewJob]) -> list[bool]:
        """Inserts new jobs with their events in one statement (one round trip, one commit);
        False for a job whose owner's request_id already names a job (nothing written)."""
        async with self.db.session() as db:
            inserted = await db.insert_jobs(batch)
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
        include_study_points: bool = False,
    ) -> tuple[list[Job], Cursor | None]:
        """A page of the owner's runs (registration jobs are internal; studies' points only
        when asked for), newest first, and the cursor of the next page.
        `id_prefix` is hex digits only (core.listing.job_id_prefix), so LIKE needs no escaping."""
        conditions: list[sql.Composable] = [sql.SQL("owner = {} AND kind = 'run'").format(owner)]
        if not include_study_points:
            conditions.append(sql.SQL("study_id IS NULL"))
        if model:
            conditions.append(sql.SQL("model = {}").format(model))
        if id_prefix:
            conditions.append(sql.SQL("job_id LIKE {}").format(id_prefix + "%"))
        if states:
            conditions.append(sql.SQL("state = ANY({})").format([s.value for s in states]))
        if after is not None:
            conditions.append(
                sql.SQL("(created_at, job_id) < ({}, {})").format(after.created_at, after.id)
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
        """The job's progress points; a cache hit's are those of the run it reused."""
        async with self.db.session() as db:
            job = await db.find_job(job_id, owner)
            rows = await db.fetch_all(
                "SELECT seq, samples_done, estimate, stderr, at FROM progress_points"
                " WHERE job_id = %s ORDER BY seq",
                (job.cached_from or job_id,),
            )
        return [ProgressPoint(**row) for row in rows]

    # ---- the runner ---------------------------------------------------------------------------

    async def report_state(
        self, job_id: str, state: JobState, reason: str, error: JobError | None
    ) -> Job:
        return await self.db.change(
            job_id, "", lambda job: core.transition(job, state, now(), reason, error=error)
        )

    async def list_active_jobs(self, states: Sequence[JobState], study_id: str = "") -> list[Job]:
        """Jobs in `states` (none given: every state but the ends), oldest first; only a
        study's points, in index order, with `study_id`."""
        values = [state.value for state in states or NOT_TERMINAL]
        async with self.db.session() as db:
            if study_id:
                rows = await db.fetch_all(
                    f"SELECT {JOB_COLUMNS} FROM jobs WHERE study_id = %s AND state = ANY(%s)"
                    " ORDER BY study_point",
                    (study_id, values),
                )
            else:
                rows = await db.fetch_all(
                    f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = ANY(%s) ORDER BY created_at",
                    (values,),
                )
        return [job_from_row(row) for row in rows]
