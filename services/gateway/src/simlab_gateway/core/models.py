"""Use cases on models: reading the versions a caller may see, pushing code, resolving a
version for a run, and seeding the built-in models at start.

Pushed code is stored once as a content-addressed bundle (simlab.bundle) and registered by a
sandboxed worker: the gateway never imports it. It waits for that registration job to end
and answers with the new version, or with the worker's message about the code."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from simlab.bundle import Bundle, BundleError, check
from simlab.common.errors import Code, SimlabError, invalid
from simlab.models.base import Model, Params
from simlab.models.names import NAME_PATTERN, SHA256, check_name
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.bundles import BundleStore
from simlab_gateway.core.ports import JobStore, Registration, SchemaReader
from simlab_gateway.core.submission import Runnable
from simlab_gateway.core.watch import TERMINAL, JobFeeds

log = logging.getLogger("gateway")

# Resolved model references kept per owner (then forgotten all at once).
MAX_KNOWN_RUNNABLES = 10_000
_REF = re.compile(rf"({NAME_PATTERN})(?:@v([1-9][0-9]{{0,8}}))?")


def parse_ref(ref: str) -> tuple[str, int]:
    """(name, version) of "name@vN", or of "name" with version 0: the latest."""
    match = _REF.fullmatch(ref)
    if match is None:
        raise invalid("model", f"{ref!r} is not a model: write NAME or NAME@vN (e.g. pi@v2)")
    return match[1], int(match[2] or 0)


@dataclass(frozen=True)
class Builtin:
    """A model of the catalogue and its code, registered at start like pushed code."""

    model: Model
    code: Bundle
    # What RegisterBuiltinModel records: the schema with the code's identity.
    registration: pb.Model


@dataclass(frozen=True)
class PushRules:
    # Who may push (None: everyone signed in).
    authors: frozenset[str] | None
    max_bundle_bytes: int
    registration_timeout_s: float


@dataclass(frozen=True)
class Push:
    """A PushModel request, its files decoded."""

    name: str
    entry: str
    # Empty: push the stored bundle named by sha256.
    files: Mapping[str, bytes]
    executable: frozenset[str]
    sha256: str
    public: bool


class Models:
    def __init__(
        self,
        store: JobStore,
        bundles: BundleStore,
        feeds: JobFeeds,
        builtins: Mapping[str, Builtin],
        read_schema: SchemaReader,
        rules: PushRules,
    ) -> None:
        self.store = store
        self.bundles = bundles
        self.feeds = feeds
        self.builtins = builtins
        self.read_schema = read_schema
        self.rules = rules
        # (owner, reference) -> what it resolved to last (see `known_runnable`).
        self._known: dict[tuple[str, str], Runnable] = {}

    async def seed(self) -> None:
        """Registers each built-in model's current code (a new version only if it changed)."""
        for builtin in self.builtins.values():
            await self.bundles.put(builtin.code)
            model = await self.store.register_builtin_model(builtin.registration)
            log.info("built-in model registered", extra={"model": f"{model.name}@v{model.version}"})

    async def visible(self, caller: Principal) -> list[pb.Model]:
        """The latest version of each model the caller may see; a share link sees only the
        model of its run (or of its study's points)."""
        if caller.shared:
            return [await self._shared_model(caller)]
        return list((await self.store.list_models(caller.owner_for("ListModels"))).models)

    async def get(self, caller: Principal, ref: str) -> pb.Model:
        name, version = parse_ref(ref)
        if not caller.shared:
            return await self.store.get_model(caller.owner_for("GetModel"), name, version)
        model = await self._shared_model(caller)
        if (name, version) not in {(model.name, 0), (model.name, model.version)}:
            shown = (
                f"run {caller.shared_job}" if caller.shared_job else f"study {caller.shared_study}"
            )
            raise SimlabError(
                Code.PERMISSION_DENIED,
                f"this share link shows only {model.name}@v{model.version}, the model of {shown}",
            )
        return model

    async def versions(self, caller: Principal, name: str) -> list[pb.Model]:
        owner = caller.owner_for("ListModelVersions")
        return list((await self.store.list_model_versions(owner, name)).versions)

    async def runnable(self, owner: str, ref: str) -> Runnable:
        """The version `ref` names, as `owner` may see it, with what validates a run of it."""
        name, version = parse_ref(ref)
        try:
            found = await self.store.get_model(owner, name, version)
        except SimlabError as error:
            if error.code is not Code.NOT_FOUND:
                raise
            # The form's field, whether the model is absent or another user's private one.
            raise invalid("model", f"unknown model {ref!r}") from None
        schema = None if found.kind == pb.MODEL_KIND_SCRIPT else self._schema(found)
        runnable = Runnable(found.name, found.version, found.code_sha256, schema, version == 0)
        if len(self._known) >= MAX_KNOWN_RUNNABLES:
            self._known.clear()
        self._known[(owner, ref)] = runnable
        return runnable

    def known_runnable(self, owner: str, ref: str) -> Runnable | None:
        """What `ref` resolved to for `owner` last, without asking the job store. A version
        never changes, nor stops being visible to whom it was; the one thing that may be out of
        date is which version is the latest: a run of it says so (Runnable.latest) and the job
        store refuses it if a later one came since."""
        return self._known.get((owner, ref))

    async def push(self, caller: Principal, push: Push) -> tuple[pb.Model, bool]:
        """The registered version and whether this push created it (False: the code is the
        latest version's)."""
        owner = caller.owner_for("PushModel")
        if self.rules.authors is not None and owner not in self.rules.authors:
            raise SimlabError(
                Code.PERMISSION_DENIED,
                f"{owner} may not push models; the platform team names who may "
                "(SIMLAB_GATEWAY_AUTHORS)",
            )
        check_name(push.name)
        bundle = await (self._built(push) if push.files else self._stored(push.sha256))
        registration = Registration(
            name=push.name,
            public=push.public,
            code_sha256=bundle.sha256,
            code_size=bundle.size,
            entry=bundle.entry,
            files=tuple(sorted(bundle.files)),
            # Retried calls start one registration; each push starts its own.
            request_id=f"push-{uuid.uuid4().hex}",
        )
        begun = await self.store.begin_registration(owner, registration)
        if isinstance(begun, pb.Model):
            return begun, False
        log.info(
            "model registration started",
            extra={"job_id": begun.job_id, "owner": owner, "model": push.name},
        )
        return await self._registered(owner, push.name, begun.job_id), True

    def _schema(self, version: pb.Model) -> Model:
        builtin = self.builtins.get(version.name) if version.builtin else None
        if builtin is not None and builtin.code.sha256 == version.code_sha256:
            # The code this gateway runs: its own checks and block rule apply.
            return builtin.model
        schema = self.read_schema(version)
        if version.block_size > 0:
            return dataclasses.replace(schema, block_size=_capped(schema, version.block_size))
        if builtin is not None:
            # An earlier version of a built-in: its block rule, as well as we know it.
            return dataclasses.replace(schema, block_size=builtin.model.block_size)
        raise SimlabError(
            Code.FAILED_PRECONDITION,
            f"{version.name}@v{version.version} has no block size; push it again",
        )

    async def _shared_model(self, caller: Principal) -> pb.Model:
        """The model version the share link's run (or its study's points) used, read as their
        owner."""
        if caller.shared_study is not None:
            study_id = caller.shared_study
            study = await self.store.get_study(
                caller.owner_for("GetStudy", study_id=study_id), study_id
            )
            name, version = parse_ref(study.spec.model)[0], study.model_version
        else:
            job_id = caller.shared_job or ""
            job = await self.store.get_job(caller.owner_for("GetJob", job_id), job_id)
            name, version = job.model, job.model_version
        return await self.store.get_model(caller.user, name, version)

    async def _built(self, push: Push) -> Bundle:
        """The bundle the files make, checked and stored."""
        try:
            check(push.files, push.entry, self.rules.max_bundle_bytes)
        except BundleError as error:
            raise invalid("files", str(error)) from None
        bundle = Bundle(push.entry, push.files, push.executable)
        if push.sha256 and push.sha256 != bundle.sha256:
            raise invalid(
                "sha256",
                f"the files make bundle {bundle.sha256}, not {push.sha256}: "
                "build it with simlab.bundle",
            )
        await self.bundles.put(bundle)
        return bundle

    async def _stored(self, sha256: str) -> Bundle:
        if not SHA256.fullmatch(sha256):
            raise invalid("sha256", "send the files, or the sha256 (64 hex digits) of a bundle")
        if await self.bundles.size(sha256) is None:
            raise SimlabError(Code.NOT_FOUND, f"bundle {sha256} is not stored; send its files")
        return await self.bundles.read(sha256)

    async def _registered(self, owner: str, name: str, job_id: str) -> pb.Model:
        """The version the registration job recorded, once it ended."""
        try:
            async with asyncio.timeout(self.rules.registration_timeout_s):
                job = await self.feeds.until_ended(job_id)
        except TimeoutError:
            # An event lost to a reconnect must not fail the push: read the job once more.
            job = await self.store.get_job("", job_id)
            if job.state not in TERMINAL:
                raise SimlabError(
                    Code.UNAVAILABLE,
                    f"the registration of {name} (job {job_id}) did not end within "
                    f"{self.rules.registration_timeout_s:g} s; push again later",
                ) from None
        if job.state == pb.JOB_STATE_SUCCEEDED:
            version = int(job.summary.fields["version"].number_value)
            return await self.store.get_model(owner, name, version)
        extra = {"job_id": job_id, "owner": owner, "model": name, "error": job.error.message}
        if job.state == pb.JOB_STATE_FAILED:
            log.info("model registration failed", extra=extra | {"traceback": job.error.traceback})
            raise invalid("code", job.error.message or "the registration failed")
        log.info("model registration cancelled", extra=extra)
        raise SimlabError(Code.UNAVAILABLE, f"the registration of {name} was cancelled; push again")


def _capped(schema: Model, block_size: int) -> Callable[[Params], int]:
    sample_count = schema.sample_param.name
    return lambda params: min(int(params[sample_count]), block_size)
