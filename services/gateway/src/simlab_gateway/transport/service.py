"""simlab.v1.SimulationService over Connect, gRPC-Web and gRPC (connect-python). Each call
names its caller from the request's bearer token and asks the job store as the owner the
caller may act for (a share link: the run's owner, for reading that run only); errors leave
as Connect codes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any, ParamSpec, TypeVar

from connectrpc.request import RequestContext

from simlab.adapters.objectstore import ObjectStore
from simlab.common.errors import SimlabError, not_found
from simlab.core.params import validate
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.models.base import Model
from simlab.transport.errors import to_connect
from simlab.transport.structs import dict_to_struct, struct_to_dict
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.adapters.events import JobEvents
from simlab_gateway.adapters.jobstore import JobStoreClient
from simlab_gateway.adapters.logs import JobLogs
from simlab_gateway.core.artifacts import artifact_key, content_type, job_prefix, log_shard
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


class SimulationService:
    def __init__(
        self,
        auth: Authenticator,
        catalogue: Mapping[str, Model],
        jobstore: JobStoreClient,
        events: JobEvents,
        logs: JobLogs,
        store: ObjectStore,
        max_shards: int,
    ) -> None:
        self.auth = auth
        self.catalogue = catalogue
        self.jobstore = jobstore
        self.events = events
        self.logs = logs
        self.store = store
        self.max_shards = max_shards
        self.models = pb.ListModelsResponse(models=[model_to_proto(m) for m in catalogue.values()])

    async def _owner(
        self, ctx: RequestContext[Any, Any], method: str, job_id: str | None = None
    ) -> str:
        """Whom to ask the job store as, for `method` on `job_id`; refuses what the caller
        may not do."""
        principal = await self.auth.principal(ctx.request_headers().get("authorization"))
        return principal.owner_for(method, job_id)

    @_connect_errors
    async def list_models(
        self, request: pb.ListModelsRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ListModelsResponse:
        await self._owner(ctx, "ListModels")
        return self.models

    @_connect_errors
    async def submit_job(
        self, request: pb.SubmitJobRequest, ctx: RequestContext[Any, Any]
    ) -> pb.SubmitJobResponse:
        owner = await self._owner(ctx, "SubmitJob")
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
        return await self.jobstore.get_job(
            await self._owner(ctx, "GetJob", request.job_id), request.job_id
        )

    @_connect_errors
    async def list_jobs(
        self, request: pb.ListJobsRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ListJobsResponse:
        return await self.jobstore.list_jobs(await self._owner(ctx, "ListJobs"), request)

    @_connect_errors_stream
    async def watch_job(
        self, request: pb.WatchJobRequest, ctx: RequestContext[Any, Any]
    ) -> AsyncIterator[pb.JobEvent]:
        owner = await self._owner(ctx, "WatchJob", request.job_id)
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
        owner = await self._owner(ctx, "CancelJob", request.job_id)
        job = await self.jobstore.cancel_job(owner, request.job_id)
        log.info("cancel requested", extra={"job_id": job.job_id, "owner": owner})
        return job

    @_connect_errors
    async def list_artifacts(
        self, request: pb.ListArtifactsRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ListArtifactsResponse:
        owner = await self._owner(ctx, "ListArtifacts", request.job_id)
        await self.jobstore.get_job(owner, request.job_id)
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
        owner = await self._owner(ctx, "GetArtifact", request.job_id)
        await self.jobstore.get_job(owner, request.job_id)
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

    @_connect_errors_stream
    async def tail_logs(
        self, request: pb.TailLogsRequest, ctx: RequestContext[Any, Any]
    ) -> AsyncIterator[pb.LogChunk]:
        owner = await self._owner(ctx, "TailLogs", request.job_id)
        shard = request.shard if request.HasField("shard") else None
        async with self.events.subscribe(request.job_id) as live:
            job = await self.jobstore.get_job(owner, request.job_id)
            if job.state in TERMINAL:
                stored = await self._stored_logs(job.job_id)
                wanted = {shard} if shard is not None else set(range(job.shards))
                if wanted <= stored.keys():
                    for number in sorted(wanted):
                        async for chunk in self._read_log(number, stored[number]):
                            yield chunk
                    return
                # The runner stores a shard's log just after its process ends, which can be a
                # moment after the job ended: until then the live stream has the output.
                pieces = self.logs.tail(job.job_id, shard, follow=True, job_ended=lambda: True)
                async for piece in pieces:
                    yield pb.LogChunk(shard=piece.shard, data=piece.data)
                return
            ended = asyncio.Event()
            watcher = asyncio.create_task(_set_when_terminal(live, ended))
            try:
                pieces = self.logs.tail(job.job_id, shard, request.follow, ended.is_set)
                async for piece in pieces:
                    yield pb.LogChunk(shard=piece.shard, data=piece.data)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _stored_logs(self, job_id: str) -> dict[int, str]:
        """shard -> the key of the log the runner kept when that shard ended."""
        prefix = job_prefix(job_id)
        found = await asyncio.to_thread(self.store.list, f"{prefix}logs")
        return {
            number: info.key
            for info in found
            if (number := log_shard(info.key.removeprefix(prefix))) is not None
        }

    async def _read_log(self, shard: int, key: str) -> AsyncIterator[pb.LogChunk]:
        chunks = self.store.iter_chunks(key, CHUNK)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield pb.LogChunk(shard=shard, data=chunk)

    @_connect_errors
    async def create_share_link(
        self, request: pb.CreateShareLinkRequest, ctx: RequestContext[Any, Any]
    ) -> pb.CreateShareLinkResponse:
        owner = await self._owner(ctx, "CreateShareLink", request.job_id)
        created = await self.jobstore.create_share_link(owner, request.job_id, request.ttl_seconds)
        log.info("share link created", extra={"job_id": request.job_id, "owner": owner})
        return created

    @_connect_errors
    async def list_share_links(
        self, request: pb.ListShareLinksRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ListShareLinksResponse:
        owner = await self._owner(ctx, "ListShareLinks", request.job_id)
        return await self.jobstore.list_share_links(owner, request.job_id)

    @_connect_errors
    async def revoke_share_link(
        self, request: pb.RevokeShareLinkRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ShareLink:
        owner = await self._owner(ctx, "RevokeShareLink")
        return await self.jobstore.revoke_share_link(owner, request.link_id)

    @_connect_errors
    async def get_progress_history(
        self, request: pb.GetProgressHistoryRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ProgressHistory:
        owner = await self._owner(ctx, "GetProgressHistory", request.job_id)
        return await self.jobstore.progress_history(owner, request.job_id)

    @_connect_errors
    async def list_presets(
        self, request: pb.ListPresetsRequest, ctx: RequestContext[Any, Any]
    ) -> pb.ListPresetsResponse:
        return await self.jobstore.list_presets(
            await self._owner(ctx, "ListPresets"), request.model
        )

    @_connect_errors
    async def save_preset(
        self, request: pb.SavePresetRequest, ctx: RequestContext[Any, Any]
    ) -> pb.Preset:
        owner = await self._owner(ctx, "SavePreset")
        preset = request.preset
        model = find_model(self.catalogue, preset.model)
        # A preset is a form that can be submitted as it is: the same rules apply.
        validate(model, struct_to_dict(preset.parameters))
        return await self.jobstore.save_preset(owner, preset)

    @_connect_errors
    async def delete_preset(
        self, request: pb.DeletePresetRequest, ctx: RequestContext[Any, Any]
    ) -> pb.DeletePresetResponse:
        return await self.jobstore.delete_preset(
            await self._owner(ctx, "DeletePreset"), request.name
        )


async def _set_when_terminal(live: AsyncIterator[pb.JobEvent], ended: asyncio.Event) -> None:
    async for event in live:
        if event.job.state in TERMINAL:
            ended.set()
            return
