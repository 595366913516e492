"""simlab.v1.SimulationService over Connect, gRPC-Web and gRPC (connect-python): each call
names its caller from the request's bearer token, decodes the request, runs its use case
(core/) and encodes the answer; errors leave as Connect codes."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from connectrpc.request import RequestContext

from simlab.common.errors import SimlabError, invalid
from simlab.transport.connect import to_connect
from simlab.transport.structs import struct_to_dict
from simlab.v1 import simulation_pb2 as pb
from simlab.v1.simulation_connect import SimulationServiceASGIApplication
from simlab_gateway.core.auth import Authenticator, Principal
from simlab_gateway.core.downloads import Artifacts
from simlab_gateway.core.jobs import Jobs, Submission
from simlab_gateway.core.models import Models, Push
from simlab_gateway.core.shares import ShareLinks
from simlab_gateway.core.watch import JobFeeds

# A push's bytes beyond its files' (paths, field tags, framing).
PUSH_OVERHEAD_BYTES = 1024 * 1024
P = ParamSpec("P")
R = TypeVar("R")
Context = RequestContext[Any, Any]


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
        models: Models,
        jobs: Jobs,
        shares: ShareLinks,
        feeds: JobFeeds,
        artifacts: Artifacts,
    ) -> None:
        self.auth = auth
        self.models = models
        self.jobs = jobs
        self.shares = shares
        self.feeds = feeds
        self.artifacts = artifacts

    async def _caller(self, ctx: Context) -> Principal:
        return await self.auth.principal_of(ctx.request_headers())

    @_connect_errors
    async def list_models(
        self, request: pb.ListModelsRequest, ctx: Context
    ) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=await self.models.visible(await self._caller(ctx)))

    @_connect_errors
    async def get_model(self, request: pb.GetModelRequest, ctx: Context) -> pb.Model:
        return await self.models.get(await self._caller(ctx), request.model)

    @_connect_errors
    async def list_model_versions(
        self, request: pb.ListModelVersionsRequest, ctx: Context
    ) -> pb.ListModelVersionsResponse:
        versions = await self.models.versions(await self._caller(ctx), request.name)
        return pb.ListModelVersionsResponse(versions=versions)

    @_connect_errors
    async def push_model(self, request: pb.PushModelRequest, ctx: Context) -> pb.PushModelResponse:
        caller = await self._caller(ctx)
        files = {f.path: f.data for f in request.files}
        if len(files) < len(request.files):
            raise invalid("files", "each path may appear once")
        push = Push(
            name=request.name,
            entry=request.entry,
            files=files,
            executable=frozenset(f.path for f in request.files if f.executable),
            sha256=request.sha256,
            public=request.public,
        )
        model, created = await self.models.push(caller, push)
        return pb.PushModelResponse(model=model, created=created)

    @_connect_errors
    async def submit_job(self, request: pb.SubmitJobRequest, ctx: Context) -> pb.SubmitJobResponse:
        submission = Submission(
            model=request.model,
            parameters=struct_to_dict(request.parameters),
            seed=request.seed,
            shards=request.shards,
            request_id=request.request_id,
            args=tuple(request.args),
        )
        return await self.jobs.submit(await self._caller(ctx), submission)

    @_connect_errors
    async def get_job(self, request: pb.GetJobRequest, ctx: Context) -> pb.Job:
        return await self.jobs.get(await self._caller(ctx), request.job_id)

    @_connect_errors
    async def list_jobs(self, request: pb.ListJobsRequest, ctx: Context) -> pb.ListJobsResponse:
        return await self.jobs.list(await self._caller(ctx), request)

    @_connect_errors_stream
    async def watch_job(
        self, request: pb.WatchJobRequest, ctx: Context
    ) -> AsyncIterator[pb.JobEvent]:
        caller = await self._caller(ctx)
        async for event in self.feeds.watch(caller, request.job_id, request.after_seq):
            yield event

    @_connect_errors
    async def cancel_job(self, request: pb.CancelJobRequest, ctx: Context) -> pb.Job:
        return await self.jobs.cancel(await self._caller(ctx), request.job_id)

    @_connect_errors
    async def list_artifacts(
        self, request: pb.ListArtifactsRequest, ctx: Context
    ) -> pb.ListArtifactsResponse:
        return await self.artifacts.list(await self._caller(ctx), request.job_id)

    @_connect_errors_stream
    async def get_artifact(
        self, request: pb.GetArtifactRequest, ctx: Context
    ) -> AsyncIterator[pb.ArtifactChunk]:
        caller = await self._caller(ctx)
        async for chunk in self.artifacts.read(caller, request.job_id, request.name):
            yield chunk

    @_connect_errors_stream
    async def tail_logs(
        self, request: pb.TailLogsRequest, ctx: Context
    ) -> AsyncIterator[pb.LogChunk]:
        caller = await self._caller(ctx)
        shard = request.shard if request.HasField("shard") else None
        async for piece in self.feeds.tail_logs(caller, request.job_id, shard, request.follow):
            yield pb.LogChunk(shard=piece.shard, data=piece.data)

    @_connect_errors
    async def create_share_link(
        self, request: pb.CreateShareLinkRequest, ctx: Context
    ) -> pb.CreateShareLinkResponse:
        caller = await self._caller(ctx)
        return await self.shares.create(caller, request.job_id, request.ttl_seconds)

    @_connect_errors
    async def list_share_links(
        self, request: pb.ListShareLinksRequest, ctx: Context
    ) -> pb.ListShareLinksResponse:
        return await self.shares.list(await self._caller(ctx), request.job_id)

    @_connect_errors
    async def revoke_share_link(
        self, request: pb.RevokeShareLinkRequest, ctx: Context
    ) -> pb.ShareLink:
        return await self.shares.revoke(await self._caller(ctx), request.link_id)

    @_connect_errors
    async def get_progress_history(
        self, request: pb.GetProgressHistoryRequest, ctx: Context
    ) -> pb.ProgressHistory:
        return await self.jobs.progress_history(await self._caller(ctx), request.job_id)

    @_connect_errors
    async def list_presets(
        self, request: pb.ListPresetsRequest, ctx: Context
    ) -> pb.ListPresetsResponse:
        return await self.jobs.list_presets(await self._caller(ctx), request.model)

    @_connect_errors
    async def save_preset(self, request: pb.SavePresetRequest, ctx: Context) -> pb.Preset:
        preset = request.preset
        caller = await self._caller(ctx)
        return await self.jobs.save_preset(caller, preset, struct_to_dict(preset.parameters))

    @_connect_errors
    async def delete_preset(
        self, request: pb.DeletePresetRequest, ctx: Context
    ) -> pb.DeletePresetResponse:
        return await self.jobs.delete_preset(await self._caller(ctx), request.name)


def simulation_app(
    service: SimulationService, max_bundle_bytes: int
) -> SimulationServiceASGIApplication:
    """The API as an ASGI application. connect-python has one request size limit per
    application: a push carries its code in one message, so each request may be as large as
    the largest bundle and its overhead."""
    return SimulationServiceASGIApplication(
        service, read_max_bytes=max_bundle_bytes + PUSH_OVERHEAD_BYTES
    )
