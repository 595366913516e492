"""simlab.v1.SimulationService over Connect, gRPC-Web and gRPC (connect-python). Each call
names its caller from the request's bearer token; errors leave as Connect codes."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any, ParamSpec, TypeVar

from connectrpc.request import RequestContext
from google.protobuf import json_format, struct_pb2

from simlab.adapters.objectstore import ObjectStore
from simlab.common.errors import SimlabError, not_found
from simlab.core.params import validate
from simlab.models.base import Model
from simlab.transport.errors import to_connect
from simlab.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.adapters.events import JobEvents
from simlab_gateway.adapters.jobstore import JobStoreClient
from simlab_gateway.core.artifacts import artifact_key, content_type, job_prefix
from simlab_gateway.core.auth import Authenticator
from simlab_gateway.core.submission import find_model, plan_job
from simlab_gateway.transport.models import model_to_proto

log = logging.getLogger("gateway")
P = ParamSpec("P")
R = TypeVar("R")
TERMINAL = {pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED}
CHUNK = 256 * 1024


def _connect_errors(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except SimlabError as error:
            raise to_connect(error) from None

    return wrapper


def _connect_errors_stream(
    method: Callable[P, AsyncIterator[R]],
) -> Callable[P, AsyncIterator[R]]:
    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[R]:
        try:
            async for item in method(*args, **kwargs):
                yield item
        except SimlabError as error:
            raise to_connect(error) from None

    return wrapper


def struct_to_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(value)


def dict_to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(dict(value))
    return out


class SimulationService:
    def __init__(
        self,
        auth: Authenticator,
        catalogue: Mapping[str, Model],
        jobstore: JobStoreClient,
        events: JobEvents,
        store: ObjectStore,
        max_shards: int,
    ) -> None:
        self.auth = auth
        self.catalogue = catalogue
        self.jobstore = jobstore
        self.events = events
        self.store = store
        self.max_shards = max_shards
        self.models = pb.ListModelsResponse(models=[model_to_proto(m) for m in catalogue.values()])

    def _user(self, ctx: RequestContext[Any, Any]) -> str:
        return self.auth.user(ctx.request_headers().get("authorization"))

    @_connect_errors
    async def list_models(
        self, request: pb.ListModelsRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ListModelsResponse:
        self._user(ctx)
        return self.models

    @_connect_errors
    async def submit_job(
        self, request: pb.SubmitJobRequest, ctx: RequestContext[Any, Any]
    ) -> pb.SubmitJobResponse:
        owner = self._user(ctx)
        plan = plan_job(
            self.catalogue,
            self.max_shards,
            request.model,
            struct_to_dict(request.parameters),
            request.seed,
            request.shards,
            request.request_id,
        )
        created = await self.jobstore.create_job(
            store_pb.CreateJobRequest(
                owner=owner,
                request_id=request.request_id,
                model=plan.model,
                parameters=dict_to_struct(plan.parameters),
                seed=plan.seed,
                shards=plan.shards,
                primary_output=plan.primary_output,
                block_size=plan.block_size,
                samples_total=plan.samples_total,
            )
        )
        if created.created:
            log.info("job submitted", extra={"job_id": created.job.job_id, "owner": owner})
        return pb.SubmitJobResponse(job=created.job, created=created.created)

    @_connect_errors
    async def get_job(self, request: pb.GetJobRequest, ctx: RequestContext[Any, Any]) -> pb.Job:
        return await self.jobstore.get_job(self._user(ctx), request.job_id)

    @_connect_errors
    async def list_jobs(
        self, request: pb.ListJobsRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ListJobsResponse:
        return await self.jobstore.list_jobs(self._user(ctx), request)

    @_connect_errors_stream
    async def watch_job(
        self, request: pb.WatchJobRequest, ctx: RequestContext[Any, Any]
    ) -> AsyncIterator[pb.JobEvent]:
        owner = self._user(ctx)
        async with self.events.subscribe(request.job_id) as live:
            job = await self.jobstore.get_job(owner, request.job_id)
            last = request.after_seq
            if job.seq > last:
                yield pb.JobEvent(
                    job_id=job.job_id, seq=job.seq, kind=pb.EVENT_KIND_SNAPSHOT, job=job
                )
                last = job.seq
            if job.state in TERMINAL:
                return
            async for event in live:
                # The snapshot already covers anything at or before its seq.
                if event.seq <= last:
                    continue
                yield event
                last = event.seq
                if event.job.state in TERMINAL:
                    return

    @_connect_errors
    async def cancel_job(
        self, request: pb.CancelJobRequest, ctx: RequestContext[Any, Any]
    ) -> pb.Job:
        owner = self._user(ctx)
        job = await self.jobstore.cancel_job(owner, request.job_id)
        log.info("cancel requested", extra={"job_id": job.job_id, "owner": owner})
        return job

    @_connect_errors
    async def list_artifacts(
        self, request: pb.ListArtifactsRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ListArtifactsResponse:
        await self.jobstore.get_job(self._user(ctx), request.job_id)
        prefix = job_prefix(request.job_id)
        found = await asyncio.to_thread(self.store.list, prefix)
        return pb.ListArtifactsResponse(
            artifacts=[
                pb.Artifact(
                    name=o.key.removeprefix(prefix),
                    size=o.size,
                    content_type=content_type(o.key),
                )
                for o in found
            ]
        )

    @_connect_errors_stream
    async def get_artifact(
        self, request: pb.GetArtifactRequest, ctx: RequestContext[Any, Any]
    ) -> AsyncIterator[pb.ArtifactChunk]:
        await self.jobstore.get_job(self._user(ctx), request.job_id)
        key = artifact_key(request.job_id, request.name)
        info = next(
            (o for o in await asyncio.to_thread(self.store.list, key) if o.key == key), None
        )
        if info is None:
            raise not_found(f"artifact {request.name!r} of job {request.job_id}")
        artifact = pb.Artifact(name=request.name, size=info.size, content_type=content_type(key))
        chunks = self.store.iter_chunks(key, CHUNK)
        first = True
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield pb.ArtifactChunk(artifact=artifact if first else None, data=chunk)
            first = False
        if first:  # an empty artifact still tells its metadata
            yield pb.ArtifactChunk(artifact=artifact)

    @_connect_errors
    async def get_progress_history(
        self, request: pb.GetJobRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ProgressHistory:
        return await self.jobstore.progress_history(self._user(ctx), request.job_id)

    @_connect_errors
    async def list_presets(
        self, request: pb.ListPresetsRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ListPresetsResponse:
        return await self.jobstore.list_presets(self._user(ctx), request.model)

    @_connect_errors
    async def save_preset(
        self, request: pb.SavePresetRequest, ctx: RequestContext[Any, Any]
    ) -> pb.Preset:
        owner = self._user(ctx)
        preset = request.preset
        model = find_model(self.catalogue, preset.model)
        # A preset is a form that can be submitted as it is: the same rules apply.
        validate(model, struct_to_dict(preset.parameters))
        return await self.jobstore.save_preset(owner, preset)

    @_connect_errors
    async def delete_preset(
        self, request: pb.DeletePresetRequest, ctx: RequestContext[Any, Any]
    ) -> pb.DeletePresetResponse:
        return await self.jobstore.delete_preset(self._user(ctx), request.name)
