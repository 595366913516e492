"""simlab.v1.SimulationService over Connect, gRPC-Web and gRPC (connect-python): each call
names its caller from the request's bearer token, decodes the request, runs its use case
(core/) and encodes the answer; errors leave as Connect codes."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from connectrpc.request import RequestContext
from google.protobuf import json_format, struct_pb2

from simlab.common.errors import SimlabError, invalid
from simlab.transport.connect import to_connect
from simlab.transport.structs import struct_to_dict
from simlab.v1 import simulation_pb2 as pb
from simlab.v1.simulation_connect import SimulationServiceASGIApplication
from simlab_gateway.core.auth import Authenticator, Principal
from simlab_gateway.core.downloads import Artifacts
from simlab_gateway.core.ids import check_job_id, check_text
from simlab_gateway.core.jobs import Jobs, Submission
from simlab_gateway.core.models import Models, Push
from simlab_gateway.core.shares import ShareLinks
from simlab_gateway.core.studies import StudyRequest
from simlab_gateway.core.study_use_cases import Studies
from simlab_gateway.core.watch import JobFeeds
from simlab_gateway.transport.limits import READ_MAX_BYTES, BoundedGzip, RequestGate

# A push's bytes beyond its files' (paths, field tags, framing).
PUSH_OVERHEAD_BYTES = 1024 * 1024
P = ParamSpec("P")
R = TypeVar("R")
Context = RequestContext[Any, Any]
# Who makes the call being served: set by the request gate, which authenticated them from the
# headers before reading the body (once per call).
CALLER: ContextVar[Principal] = ContextVar("simlab_caller")


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
        studies: Studies,
    ) -> None:
        self.auth = auth
        self.models = models
        self.jobs = jobs
        self.shares = shares
        self.feeds = feeds
        self.artifacts = artifacts
        self.studies = studies

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller the request's headers name; UNAUTHENTICATED when they name nobody."""
        return await self.auth.principal_of(headers)

    @_connect_errors
    async def list_models(
        self, request: pb.ListModelsRequest, ctx: Context
    ) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=await self.models.visible(CALLER.get()))

    @_connect_errors
    async def get_model(self, request: pb.GetModelRequest, ctx: Context) -> pb.Model:
        caller = CALLER.get()
        return await self.models.get(caller, check_text(request.model, "model", 200))

    @_connect_errors
    async def list_model_versions(
        self, request: pb.ListModelVersionsRequest, ctx: Context
    ) -> pb.ListModelVersionsResponse:
        caller = CALLER.get()
        versions = await self.models.versions(caller, check_text(request.name, "name", 200))
        return pb.ListModelVersionsResponse(versions=versions)

    @_connect_errors
    async def push_model(self, request: pb.PushModelRequest, ctx: Context) -> pb.PushModelResponse:
        caller = CALLER.get()
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
            parameters=_decoded(request.parameters, "parameters"),
            seed=request.seed,
            shards=request.shards,
            request_id=request.request_id,
            args=tuple(request.args),
            precision=request.precision if request.HasField("precision") else None,
            no_cache=request.no_cache,
        )
        return await self.jobs.submit(CALLER.get(), submission)

    @_connect_errors
    async def extend_job(self, request: pb.ExtendJobRequest, ctx: Context) -> pb.SubmitJobResponse:
        return await self.jobs.extend(CALLER.get(), request)

    @_connect_errors
    async def get_job(self, request: pb.GetJobRequest, ctx: Context) -> pb.Job:
        return await self.jobs.get(CALLER.get(), request.job_id)

    @_connect_errors
    async def list_jobs(self, request: pb.ListJobsRequest, ctx: Context) -> pb.ListJobsResponse:
        return await self.jobs.list(CALLER.get(), request)

    @_connect_errors_stream
    def watch_job(self, request: pb.WatchJobRequest, ctx: Context) -> AsyncIterator[pb.JobEvent]:
        # The feed itself, with no generator of this method's between it and the wire (each
        # costs a step per watcher per change); it checks the job id.
        return self.feeds.watch(CALLER.get(), request.job_id, request.after_seq)

    @_connect_errors
    async def cancel_job(self, request: pb.CancelJobRequest, ctx: Context) -> pb.Job:
        return await self.jobs.cancel(CALLER.get(), request.job_id)

    @_connect_errors
    async def list_artifacts(
        self, request: pb.ListArtifactsRequest, ctx: Context
    ) -> pb.ListArtifactsResponse:
        return await self.artifacts.list(CALLER.get(), request.job_id)

    @_connect_errors_stream
    async def get_artifact(
        self, request: pb.GetArtifactRequest, ctx: Context
    ) -> AsyncIterator[pb.ArtifactChunk]:
        caller = CALLER.get()
        async for chunk in self.artifacts.read(caller, request.job_id, request.name):
            yield chunk

    @_connect_errors_stream
    async def tail_logs(
        self, request: pb.TailLogsRequest, ctx: Context
    ) -> AsyncIterator[pb.LogChunk]:
        caller = CALLER.get()
        job_id = check_job_id(request.job_id)
        shard = request.shard if request.HasField("shard") else None
        if shard is not None and shard < 0:
            raise invalid("shard", f"must not be negative, got {shard}")
        async for piece in self.feeds.tail_logs(caller, job_id, shard, request.follow):
            yield pb.LogChunk(shard=piece.shard, data=piece.data)

    @_connect_errors
    async def create_share_link(
        self, request: pb.CreateShareLinkRequest, ctx: Context
    ) -> pb.CreateShareLinkResponse:
        return await self.shares.create(CALLER.get(), request)

    @_connect_errors
    async def list_share_links(
        self, request: pb.ListShareLinksRequest, ctx: Context
    ) -> pb.ListShareLinksResponse:
        return await self.shares.list(CALLER.get(), request)

    @_connect_errors
    async def revoke_share_link(
        self, request: pb.RevokeShareLinkRequest, ctx: Context
    ) -> pb.ShareLink:
        caller = CALLER.get()
        return await self.shares.revoke(caller, check_job_id(request.link_id, "link_id"))

    @_connect_errors
    async def submit_study(
        self, request: pb.SubmitStudyRequest, ctx: Context
    ) -> pb.SubmitStudyResponse:
        spec = request.spec
        study = StudyRequest(
            spec=spec,
            fixed=_decoded(spec.parameters, "spec.parameters"),
            values=tuple(
                tuple(
                    _decoded_value(value, f"spec.axes[{i}].values[{j}]")
                    for j, value in enumerate(axis.values.values)
                )
                if axis.HasField("values")
                else None
                for i, axis in enumerate(spec.axes)
            ),
            request_id=request.request_id,
        )
        return await self.studies.submit(CALLER.get(), study)

    @_connect_errors
    async def get_study(self, request: pb.GetStudyRequest, ctx: Context) -> pb.Study:
        return await self.studies.get(CALLER.get(), request.study_id)

    @_connect_errors
    async def list_studies(
        self, request: pb.ListStudiesRequest, ctx: Context
    ) -> pb.ListStudiesResponse:
        return await self.studies.list_studies(CALLER.get(), request)

    @_connect_errors
    async def list_study_points(
        self, request: pb.ListStudyPointsRequest, ctx: Context
    ) -> pb.ListStudyPointsResponse:
        return await self.studies.points(CALLER.get(), request)

    @_connect_errors_stream
    async def watch_study(
        self, request: pb.WatchStudyRequest, ctx: Context
    ) -> AsyncIterator[pb.StudyEvent]:
        # Closed with this stream (a client that went away): its poll and its slot end now.
        async with contextlib.aclosing(self.studies.watch(CALLER.get(), request.study_id)) as feed:
            async for event in feed:
                yield event

    @_connect_errors
    async def cancel_study(self, request: pb.CancelStudyRequest, ctx: Context) -> pb.Study:
        return await self.studies.cancel(CALLER.get(), request.study_id)

    @_connect_errors
    async def compare_points(
        self, request: pb.ComparePointsRequest, ctx: Context
    ) -> pb.ComparePointsResponse:
        return await self.studies.compare(CALLER.get(), request)

    @_connect_errors
    async def get_progress_history(
        self, request: pb.GetProgressHistoryRequest, ctx: Context
    ) -> pb.ProgressHistory:
        return await self.jobs.progress_history(CALLER.get(), request.job_id)

    @_connect_errors
    async def list_presets(
        self, request: pb.ListPresetsRequest, ctx: Context
    ) -> pb.ListPresetsResponse:
        return await self.jobs.list_presets(CALLER.get(), request.model)

    @_connect_errors
    async def save_preset(self, request: pb.SavePresetRequest, ctx: Context) -> pb.Preset:
        preset = request.preset
        caller = CALLER.get()
        parameters = _decoded(preset.parameters, "parameters")
        return await self.jobs.save_preset(caller, preset, parameters)

    @_connect_errors
    async def delete_preset(
        self, request: pb.DeletePresetRequest, ctx: Context
    ) -> pb.DeletePresetResponse:
        return await self.jobs.delete_preset(CALLER.get(), request.name)


def _decoded(struct: struct_pb2.Struct, field: str) -> dict[str, Any]:
    """The Struct as a dict; INVALID_ARGUMENT naming the value JSON cannot hold (NaN, an
    infinity: JSON's 1e400 parses as one)."""
    try:
        return struct_to_dict(struct)
    except ValueError:  # protobuf raises a plain ValueError for these
        raise invalid(_non_finite(struct, field) or field, "must be a finite number") from None


def _decoded_value(value: struct_pb2.Value, field: str) -> Any:
    """The Value as a plain one; INVALID_ARGUMENT as `_decoded`."""
    try:
        return json_format.MessageToDict(value)
    except ValueError:
        raise invalid(_non_finite(value, field) or field, "must be a finite number") from None


def _non_finite(value: struct_pb2.Struct | struct_pb2.Value, path: str) -> str | None:
    """The path of the first non-finite number in `value`, if any."""
    if isinstance(value, struct_pb2.Struct):
        items = [(f"{path}.{key}", item) for key, item in value.fields.items()]
    elif value.HasField("struct_value"):
        return _non_finite(value.struct_value, path)
    elif value.HasField("list_value"):
        items = [(f"{path}[{i}]", item) for i, item in enumerate(value.list_value.values)]
    else:
        finite = not value.HasField("number_value") or math.isfinite(value.number_value)
        return None if finite else path
    return next(filter(None, (_non_finite(item, where) for where, item in items)), None)


def simulation_app(service: SimulationService, max_bundle_bytes: int) -> RequestGate:
    """The API as an ASGI application: callers authenticated before their bodies are read,
    each method's body capped at its read limit, compressed or not. A push carries its code in
    one message: it may be as large as the largest bundle and its overhead; every other
    request gets READ_MAX_BYTES."""
    push_limit = max_bundle_bytes + PUSH_OVERHEAD_BYTES

    def app(limit: int) -> SimulationServiceASGIApplication:
        return SimulationServiceASGIApplication(
            service, read_max_bytes=limit, compressions=[BoundedGzip(limit)]
        )

    default = app(READ_MAX_BYTES)
    return RequestGate(
        default.path,
        default,
        {"PushModel": (app(push_limit), push_limit)},
        READ_MAX_BYTES,
        service.authenticate,
        CALLER,
    )
