"""Use cases on jobs and presets: each one asks the job store as the owner the caller may act
for (core.auth) and checks what the store cannot (the model version's schema, the shard
limit)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simlab.common.errors import invalid
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.ids import check_job_id, check_text
from simlab_gateway.core.models import Models
from simlab_gateway.core.ports import JobStore
from simlab_gateway.core.submission import check_parameters, plan_job

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


class Jobs:
    def __init__(self, store: JobStore, models: Models, max_shards: int) -> None:
        self.store = store
        self.models = models
        self.max_shards = max_shards

    async def submit(self, caller: Principal, submission: Submission) -> pb.SubmitJobResponse:
        """Nothing is stored unless the submission fits its model and the shard limit."""
        owner = caller.owner_for("SubmitJob")
        plan = plan_job(
            await self.models.runnable(owner, submission.model),
            self.max_shards,
            submission.parameters,
            submission.seed,
            submission.shards,
            submission.request_id,
            submission.args,
        )
        job, created = await self.store.create_job(owner, submission.request_id, plan)
        if created:
            log.info("job submitted", extra={"job_id": job.job_id, "owner": owner})
        return pb.SubmitJobResponse(job=job, created=created)

    async def get(self, caller: Principal, job_id: str) -> pb.Job:
        return await self.store.get_job(caller.owner_for("GetJob", job_id), check_job_id(job_id))

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
        owner = caller.owner_for("GetProgressHistory", check_job_id(job_id))
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
