"""Use cases on jobs and presets: each one asks the job store as the owner the caller may act
for (core.auth) and checks what the store cannot (the model version's schema, the shard
limit)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simlab.common.errors import Code, SimlabError, invalid
from simlab.transport.structs import struct_to_dict
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.ids import check_job_id, check_text
from simlab_gateway.core.models import Models
from simlab_gateway.core.ports import JobStore
from simlab_gateway.core.submission import Runnable, check_parameters, plan_job

log = logging.getLogger("gateway")

# Bounds of what a request names (the job store has its own rules within them).
MAX_MODEL_REF = 200
MAX_PRESET_NAME = 200
# The job store's tokens are a few dozen characters.
MAX_PAGE_TOKEN = 512
MAX_STATES = 16


@dataclass(frozen=True)
class Submission:
    """A SubmitJob request, its parameters decoded."""

    # "name" (the latest version) or "name@vN".
    model: str
    parameters: Mapping[str, Any]
    seed: int
    shards: int
    request_id: str
    args: Sequence[str] = ()
    # As the request has it (validated with the rest); None: no target.
    precision: pb.Precision | None = None
    no_cache: bool = False
    # A top-up of this finished run (ExtendJob).
    extends: str = ""


class Jobs:
    def __init__(self, store: JobStore, models: Models, max_shards: int) -> None:
        self.store = store
        self.models = models
        self.max_shards = max_shards

    async def submit(self, caller: Principal, submission: Submission) -> pb.SubmitJobResponse:
        owner = caller.owner_for("SubmitJob")
        known = self.models.known_runnable(owner, submission.model)
        if known is not None:
            try:
                return await self._submit(owner, known, submission)
            except SimlabError as error:
                # Refused against what may be an older version than the latest (a version
                # pushed since): not the final word. Nothing was stored.
                if not known.latest or error.code is not Code.INVALID_ARGUMENT:
                    raise
        runnable = await self.models.runnable(owner, submission.model)
        return await self._submit(owner, runnable, submission)

    async def extend(self, caller: Principal, request: pb.ExtendJobRequest) -> pb.SubmitJobResponse:
        """A run of the same model version, parameters and seed as the caller's finished
        blocks run `request.job_id`, with a new budget, shard count or precision target: the
        job store reuses the source's blocks that are the same in both."""
        owner = caller.owner_for("ExtendJob")
        source = await self.store.get_job(owner, check_job_id(request.job_id))
        if source.kind != pb.JOB_KIND_RUN or not source.block_size:
            raise SimlabError(
                Code.FAILED_PRECONDITION,
                f"run {source.job_id} is not a blocks run: only those can be extended",
            )
        if source.state != pb.JOB_STATE_SUCCEEDED:
            state = pb.JobState.Name(source.state).removeprefix("JOB_STATE_").lower()
            raise SimlabError(
                Code.FAILED_PRECONDITION,
                f"run {source.job_id} is {state}: only a succeeded run can be extended",
            )
        if request.samples < 0:
            raise invalid("samples", f"must be 0 (the run's) or more, got {request.samples}")
        model = f"{source.model}@v{source.model_version}"
        runnable = await self.models.runnable(owner, model)
        parameters = struct_to_dict(source.parameters)
        if runnable.schema is not None and request.samples:
            parameters[runnable.schema.sample_param.name] = request.samples
        precision = request.precision if request.HasField("precision") else None
        if precision is None and source.HasField("precision"):
            precision = source.precision
        submission = Submission(
            model=model,
            parameters=parameters,
            seed=source.seed,
            shards=request.shards or source.shards,
            request_id=request.request_id,
            precision=precision,
            no_cache=request.no_cache,
            # A cache hit's blocks are those of the run it reused.
            extends=source.cached_from or source.job_id,
        )
        return await self._submit(owner, runnable, submission)

    async def _submit(
        self, owner: str, runnable: Runnable, submission: Submission
    ) -> pb.SubmitJobResponse:
        """Nothing is stored unless the submission fits its model and the shard limit."""
        plan = plan_job(
            runnable,
            self.max_shards,
            submission.parameters,
            submission.seed,
            submission.shards,
            submission.request_id,
            submission.args,
            submission.precision,
            submission.no_cache,
            submission.extends,
        )
        job, created = await self.store.create_job(owner, submission.request_id, plan)
        if created:
            log.info(
                "job submitted",
                extra={"job_id": job.job_id, "owner": owner, "extends": submission.extends},
            )
        return pb.SubmitJobResponse(job=job, created=created)

    async def get(self, caller: Principal, job_id: str) -> pb.Job:
        owner = await caller.owner_for_job("GetJob", check_job_id(job_id), self.store.get_job)
        return await self.store.get_job(owner, job_id)

    async def list(self, caller: Principal, query: pb.ListJobsRequest) -> pb.ListJobsResponse:
        check_text(query.model, "model", MAX_MODEL_REF)
        check_text(query.page_token, "page_token", MAX_PAGE_TOKEN)
        check_text(query.job_id_prefix, "job_id_prefix", MAX_MODEL_REF)
        if len(query.states) > MAX_STATES:
            raise invalid("states", f"at most {MAX_STATES} states, got {len(query.states)}")
        return await self.store.list_jobs(caller.owner_for("ListJobs"), query)

    async def cancel(self, caller: Principal, job_id: str) -> pb.Job:
        owner = caller.owner_for("CancelJob", check_job_id(job_id))
        job = await self.store.cancel_job(owner, job_id)
        log.info("cancel requested", extra={"job_id": job.job_id, "owner": owner})
        return job

    async def progress_history(self, caller: Principal, job_id: str) -> pb.ProgressHistory:
        owner = await caller.owner_for_job(
            "GetProgressHistory", check_job_id(job_id), self.store.get_job
        )
        return await self.store.progress_history(owner, job_id)

    async def list_presets(self, caller: Principal, model: str) -> pb.ListPresetsResponse:
        check_text(model, "model", MAX_MODEL_REF)
        return await self.store.list_presets(caller.owner_for("ListPresets"), model)

    async def save_preset(
        self, caller: Principal, preset: pb.Preset, parameters: Mapping[str, Any]
    ) -> pb.Preset:
        """`parameters`: the preset's, decoded. A preset is a form that can be submitted as it
        is: the same rules apply."""
        owner = caller.owner_for("SavePreset")
        check_text(preset.name, "preset.name", MAX_PRESET_NAME)
        check_text(preset.model, "preset.model", MAX_MODEL_REF)
        check_parameters(await self.models.runnable(owner, preset.model), parameters)
        return await self.store.save_preset(owner, preset)

    async def delete_preset(self, caller: Principal, name: str) -> pb.DeletePresetResponse:
        check_text(name, "name", MAX_PRESET_NAME)
        return await self.store.delete_preset(caller.owner_for("DeletePreset"), name)
