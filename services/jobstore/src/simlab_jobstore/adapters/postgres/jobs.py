"""Creating, reading, listing and cancelling jobs, and the runner's state reports."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from simlab.common.coalesce import Coalescer
from simlab.common.errors import Code, SimlabError, invalid

from ...core import jobs as core
from ...core import targets
from ...core.events import EventKind
from ...core.jobs import Job, JobError, JobSpec, ProgressPoint
from ...core.listing import Cursor
from ...core.models import ModelKind, model_not_found
from ...core.quotas import Quotas
from ...core.states import NOT_TERMINAL, TERMINAL, JobState
from .rows import JOB_COLUMNS, block_moments, job_from_row, visible_to
from .session import Database, Session, now

# Jobs neither succeeded, failed nor cancelled: the predicate of the index jobs_owner_active.
_ACTIVE = "state NOT IN (" + ", ".join(f"'{state.value}'" for state in TERMINAL) + ")"
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


@dataclass(frozen=True)
class NewRun:
    """A run to create (not a top-up), as create_job hands it to the batch writer."""

    job: Job
    # The result cache may answer it (no_cache not asked).
    cacheable: bool
    # The code is built-in or public: anyone's finished run may answer it, not only the owner's.
    shared: bool
    # Its model version must still be the latest the owner sees (JobSpec.latest).
    latest: bool = False

    @property
    def fingerprint(self) -> str | None:
        """What the cache is looked up by; None: it is not."""
        return self.job.fingerprint if self.cacheable else None


# What the batch writer gives each run: its job, created; None when its request_id names a job
# already (nothing written); or why it was refused.
Created = Job | SimlabError | None


def new_run(spec: JobSpec, code: RegisteredCode, job_id: str, at: datetime) -> Job:
    """The queued job `spec` (validated) asks for: its seed drawn when it asked for none, its
    fingerprint for the result cache."""
    script = code.kind is ModelKind.SCRIPT
    job = core.new_job(spec, job_id, spec.seed or random_seed(), at, script=script)
    return dataclasses.replace(job, fingerprint=targets.fingerprint(job, code.runtime))


class Jobs:
    db: Database
    quotas: Quotas
    _new_runs: Coalescer[NewRun, Created]  # of _create_runs
    _versions: dict[tuple[str, int], RegisteredCode]  # of _registered

    # ---- on behalf of an owner --------------------------------------------------------------

    async def create_job(self, spec: JobSpec) -> tuple[Job, bool]:
        """(job, created): a resubmitted request_id gives back its job with created=False. A
        run whose fingerprint matches a finished run that the owner may reuse is created
        SUCCEEDED with that run's result (unless no_cache); a top-up (extends) starts with
        the blocks it shares with the run it extends. Concurrent runs (not top-ups) are
        created together, in batches (_create_runs)."""
        spec, code = await self._with_registered_code(spec)
        spec.validate(script=code.kind is ModelKind.SCRIPT)
        run = NewRun(
            new_run(spec, code, new_id(), now()),
            cacheable=not spec.no_cache,
            shared=code.shared,
            latest=spec.latest,
        )
        if spec.extends:
            inserted = await self._create_extension(spec, run)
        else:
            created = await self._new_runs.submit(run)
            if isinstance(created, SimlabError):
                raise created
            inserted = created
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

    async def _create_runs(self, runs: list[NewRun]) -> list[Created]:
        """Creates new runs (not top-ups) together: the result cache looked up once per owner,
        the active-jobs quota counted once per owner (the lookups at once, each on its own
        connection), and the jobs inserted with their events in one statement. Batches are
        written one at a time, so the quota holds exactly in one job store (several may pass
        it by the batches they have in flight)."""
        jobs, refused, held = await asyncio.gather(
            self._with_cached_results(runs),
            self._outdated(runs),
            self._active_jobs({run.job.owner for run in runs}),
        )
        # Cache hits hold nothing: only the queued need room.
        queued = [
            i for i, job in enumerate(jobs) if i not in refused and job.state is JobState.QUEUED
        ]
        async with self.db.session() as db:
            quota = await self._refused_by_quota(db, [jobs[i] for i in queued], held)
            refused.update((queued[k], error) for k, error in quota.items())
            admitted = [
                (job, db.events.job(job, EventKind.STATE))
                for i, job in enumerate(jobs)
                if i not in refused
            ]
            inserted = await db.insert_jobs(admitted) if admitted else set()
        return [
            refused.get(i, job if job.job_id in inserted else None) for i, job in enumerate(jobs)
        ]

    async def _with_cached_results(self, runs: Sequence[NewRun]) -> list[Job]:
        """Each run's job, a cache hit where a finished run may answer it: one lookup for
        each owner (and visibility of the code) among the runs."""
        wanted: dict[tuple[str, bool], set[str]] = defaultdict(set)
        for run in runs:
            if run.fingerprint is not None:
                wanted[(run.job.owner, run.shared)].add(run.fingerprint)
        found = {
            key: await self._cached_results(fingerprints, *key)
            for key, fingerprints in wanted.items()
        }
        jobs = []
        for run in runs:
            source = None
            if run.fingerprint is not None:
                source = found[(run.job.owner, run.shared)].get(run.fingerprint)
            jobs.append(
                run.job if source is None else targets.reuse(run.job, source, run.job.created_at)
            )
        return jobs

    async def _create_extension(self, spec: JobSpec, run: NewRun) -> Job | None:
        """A top-up: the job inserted (None when its request_id names a job already)."""
        # Checked even when the cache answers: a top-up of a run it may not extend is refused.
        extended = await self._extension_source(spec)
        job = dataclasses.replace(run.job, extends=extended.job_id)
        (job,) = await self._with_cached_results([dataclasses.replace(run, job=job)])
        if job.state is not JobState.QUEUED:
            # A cache hit: it needs none of the blocks of the run it extends.
            async with self.db.session() as db:
                inserted = await db.insert_jobs([(job, db.events.job(job, EventKind.STATE))])
            return job if inserted else None
        if refused := await self._outdated([run]):
            raise refused[0]
        held = await self._active_jobs({job.owner})
        async with self.db.session() as db:
            if refused := await self._refused_by_quota(db, [job], held):
                raise refused[0]
        return await self._insert_extension(job, extended)

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

    async def _active_jobs(self, owners: Collection[str]) -> dict[str, int]:
        """Each owner's active jobs (studies' points have their own quota), counted up to the
        quota: a full owner costs no more than the quota's rows."""
        async with self.db.session() as db:
            rows = await db.fetch_all(
                "SELECT owner, (SELECT count(*) FROM (SELECT FROM jobs WHERE jobs.owner = o.owner"
                f" AND {_ACTIVE} AND study_id IS NULL LIMIT %s) AS active) AS held"
                " FROM unnest(%s::text[]) AS o(owner)",
                (self.quotas.active_jobs, list(owners)),
            )
        return {row["owner"]: row["held"] for row in rows}

    async def _refused_by_quota(
        self, db: Session, jobs: Sequence[Job], held: Mapping[str, int]
    ) -> dict[int, SimlabError]:
        """Which of these new queued jobs (by index) the active-jobs quota refuses, in order,
        their owners holding `held` (_active_jobs). A resubmission needs no room: it gets its
        job back as always. Only an owner that the batch would take past the quota costs a
        query."""
        wanted = Counter(job.owner for job in jobs)
        if all(held[owner] + count <= self.quotas.active_jobs for owner, count in wanted.items()):
            return {}
        named = [(job.owner, job.request_id) for job in jobs if job.request_id]
        rows = await db.fetch_all(
            "SELECT owner, request_id FROM jobs WHERE request_id <> '' AND (owner, request_id)"
            " IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
            ([owner for owner, _ in named], [request_id for _, request_id in named]),
        )
        known = {(row["owner"], row["request_id"]) for row in rows}
        return self.quotas.refused_jobs(held, [(job.owner, job.request_id) for job in jobs], known)

    async def _outdated(self, runs: Sequence[NewRun]) -> dict[int, SimlabError]:
        """Which runs (by index) asked for their model's latest version and were planned with one
        that is no longer the latest their owner sees: one query for every (owner, model)."""
        asked = {(run.job.owner, run.job.model) for run in runs if run.latest}
        if not asked:
            return {}
        async with self.db.session() as db:
            rows = await db.fetch_all(
                "SELECT viewer, name, (SELECT max(version) FROM models"
                f" WHERE models.name = asked.name AND {visible_to('asked.viewer')}) AS latest"
                " FROM unnest(%s::text[], %s::text[]) AS asked(viewer, name)",
                ([owner for owner, _ in asked], [name for _, name in asked]),
            )
        latest = {(row["viewer"], row["name"]): row["latest"] for row in rows}
        outdated: dict[int, SimlabError] = {}
        for index, run in enumerate(runs):
            newest = latest.get((run.job.owner, run.job.model))
            if run.latest and newest != run.job.model_version:
                outdated[index] = invalid(
                    "latest",
                    f"{run.job.model}@v{run.job.model_version} is not the latest version of"
                    f" {run.job.model} (v{newest}): resolve the model again",
                )
        return outdated

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
