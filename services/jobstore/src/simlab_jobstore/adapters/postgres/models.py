"""The model registry. Every change under a name locks that name's model_names row first, so
versions are numbered max+1 without gaps or duplicates however many registrations (and
gateways seeding built-ins) run at once, and code equal to the latest version's never makes a
second version."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from simlab.common.errors import Code, SimlabError, invalid

from ...core import jobs as core
from ...core.events import EventKind
from ...core.jobs import Job, JobKind
from ...core.models import (
    Inspection,
    ModelVersion,
    Registration,
    check_owner,
    model_not_found,
    new_version,
)
from .jobs import new_id
from .rows import JOB_COLUMNS, MODEL_COLUMNS, job_from_row, model_from_row, visible_to
from .session import Database, Session, now

_VISIBLE = visible_to("%(owner)s")


class Models:
    db: Database

    # ---- reading ------------------------------------------------------------------------------

    async def get_model(self, owner: str, name: str, version: int = 0) -> ModelVersion:
        """That version (0: the latest the owner sees); NOT_FOUND when the owner sees none."""
        async with self.db.session() as db:
            row = await db.fetch_one(
                f"SELECT {MODEL_COLUMNS} FROM models WHERE name = %(name)s AND {_VISIBLE}"
                " AND (%(version)s = 0 OR version = %(version)s) ORDER BY version DESC LIMIT 1",
                {"owner": owner, "name": name, "version": version},
            )
        if row is None:
            raise model_not_found(name, version)
        return model_from_row(row)

    async def list_models(self, owner: str) -> list[ModelVersion]:
        """The latest version the owner sees of each model, by name."""
        async with self.db.session() as db:
            rows = await db.fetch_all(
                f"SELECT DISTINCT ON (name) {MODEL_COLUMNS} FROM models WHERE {_VISIBLE}"
                " ORDER BY name, version DESC",
                {"owner": owner},
            )
        return [model_from_row(row) for row in rows]

    async def list_model_versions(self, owner: str, name: str) -> list[ModelVersion]:
        """The versions the owner sees, newest first; NOT_FOUND when none."""
        async with self.db.session() as db:
            rows = await db.fetch_all(
                f"SELECT {MODEL_COLUMNS} FROM models WHERE name = %(name)s AND {_VISIBLE}"
                " ORDER BY version DESC",
                {"owner": owner, "name": name},
            )
        if not rows:
            raise model_not_found(name)
        return [model_from_row(row) for row in rows]

    # ---- registering --------------------------------------------------------------------------

    async def begin_registration(
        self, registration: Registration, request_id: str
    ) -> Job | ModelVersion:
        """The registration job started (or the one `request_id` already started), or the
        latest version when it has this code already. The name is claimed here: the first
        pusher owns it."""
        if not registration.owner:
            raise invalid("owner", "must not be empty")
        registration.validate()
        async with self.db.transaction() as tx:
            earlier = await _earlier_request(tx, registration, request_id)
            if earlier is not None:
                return earlier
            check_owner(registration.name, await _lock_name(tx, registration), registration.owner)
            latest = await _latest(tx, registration.name)
            if latest is not None and latest.code_sha256 == registration.code_sha256:
                return latest
            job = core.new_registration_job(
                registration.owner,
                request_id,
                registration.name,
                registration.code_sha256,
                new_id(),
                now(),
            )
            if not await tx.insert_jobs([(job, tx.events.job(job, EventKind.STATE))]):
                # The same request_id, sent again while the first was being written.
                earlier = await _earlier_request(tx, registration, request_id)
                assert earlier is not None, "ON CONFLICT waited for the other insert's commit"
                return earlier
            await tx.conn.execute(
                "INSERT INTO registrations (job_id, owner, name, public, code_sha256,"
                " code_size, entry, files) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    job.job_id,
                    registration.owner,
                    registration.name,
                    registration.public,
                    registration.code_sha256,
                    registration.code_size,
                    registration.entry,
                    Jsonb(list(registration.files)),
                ),
            )
        return job

    async def complete_registration(self, job_id: str, inspection: Inspection) -> Job:
        """Registers the inspected code as the next version of its name and ends the job
        SUCCEEDED with {"model", "version"}, in one transaction. Code that became the latest
        version meanwhile (the same push twice) is that version, not a new one."""
        inspection.check()
        async with self.db.transaction() as tx:
            job = await tx.find_job(job_id, lock=True)
            if job.kind is not JobKind.REGISTRATION:
                raise SimlabError(Code.FAILED_PRECONDITION, f"job {job_id} is not a registration")
            row = await tx.fetch_one(
                "SELECT owner, name, public, code_sha256, code_size, entry, files"
                " FROM registrations WHERE job_id = %s",
                (job_id,),
            )
            assert row is not None, "a registration job is inserted with its registration"
            registration = Registration(**{**row, "files": tuple(row["files"])})
            await _lock_name(tx, registration)
            latest = await _latest(tx, registration.name)
            unchanged = latest is not None and latest.code_sha256 == registration.code_sha256
            version = latest.version if latest is not None and unchanged else _next(latest)
            done = core.registered(job, registration.name, version, now())
            if done is None:
                return job
            if not unchanged:
                await _insert_version(
                    tx, new_version(registration, inspection, version, now(), job_id)
                )
            await tx.save(done, EventKind.STATE)
        return done

    async def register_builtin_model(
        self, registration: Registration, inspection: Inspection
    ) -> ModelVersion:
        """The built-in's latest version: a new one only when its code changed. Idempotent,
        so every gateway may seed the built-ins at its start."""
        if registration.owner:
            raise invalid("owner", "a built-in model has no owner")
        registration.validate()
        inspection.check(builtin=True)
        async with self.db.transaction() as tx:
            check_owner(registration.name, await _lock_name(tx, registration), "")
            latest = await _latest(tx, registration.name)
            if latest is not None and latest.code_sha256 == registration.code_sha256:
                return latest
            version = new_version(registration, inspection, _next(latest), now(), None)
            await _insert_version(tx, version)
        return version


async def _earlier_request(tx: Session, registration: Registration, request_id: str) -> Job | None:
    """The registration job `request_id` already started for this code and name; refused when
    the owner used it for something else."""
    if not request_id:
        return None
    row = await tx.fetch_one(
        f"SELECT {JOB_COLUMNS} FROM jobs WHERE owner = %s AND request_id = %s",
        (registration.owner, request_id),
    )
    if row is None:
        return None
    job = job_from_row(row)
    if (job.kind, job.model, job.code_sha256) != (
        JobKind.REGISTRATION,
        registration.name,
        registration.code_sha256,
    ):
        raise SimlabError(
            Code.ALREADY_EXISTS,
            f"request_id {request_id!r} was already used for job {job.job_id}"
            " with a different name or code",
            field="request_id",
        )
    return job


async def _lock_name(tx: Session, registration: Registration) -> str:
    """Claims the name for the registration's owner unless someone has it, locks it until
    commit, and says who owns it."""
    await tx.conn.execute(
        "INSERT INTO model_names (name, owner, builtin) VALUES (%s, %s, %s)"
        " ON CONFLICT (name) DO NOTHING",
        (registration.name, registration.owner, not registration.owner),
    )
    row = await tx.fetch_one(
        "SELECT owner FROM model_names WHERE name = %s FOR UPDATE", (registration.name,)
    )
    assert row is not None, "inserted above, and names are never deleted"
    return str(row["owner"])


async def _latest(tx: Session, name: str) -> ModelVersion | None:
    row = await tx.fetch_one(
        f"SELECT {MODEL_COLUMNS} FROM models WHERE name = %s ORDER BY version DESC LIMIT 1",
        (name,),
    )
    return None if row is None else model_from_row(row)


def _next(latest: ModelVersion | None) -> int:
    return 1 if latest is None else latest.version + 1


async def _insert_version(tx: Session, version: ModelVersion) -> None:
    await tx.conn.execute(
        f"INSERT INTO models ({MODEL_COLUMNS}) VALUES"
        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            version.name,
            version.version,
            version.owner,
            version.public,
            version.builtin,
            version.kind.value,
            version.code_sha256,
            version.code_size,
            version.entry,
            Jsonb(list(version.files)),
            Jsonb(list(version.imports)),
            Jsonb(list(version.warnings)),
            version.reproducible,
            version.runtime,
            version.block_size,
            version.schema,
            version.created_at,
            version.registration_job,
        ),
    )
