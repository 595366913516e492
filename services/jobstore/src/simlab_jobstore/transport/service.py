"""JobStoreService over grpc.aio. Each method authenticates the caller, turns the request
into domain terms, calls the store and answers in protos; `rpc` maps SimlabError to its gRPC
status in this one place."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar, cast

import grpc

from simlab.common.errors import Code, SimlabError, invalid
from simlab.common.tokens import WorkerClaims
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.jobstore.v1 import jobstore_pb2_grpc
from simlab.transport.errors import is_refusal, to_grpc_status
from simlab.transport.refusals import refusal_to_pb
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import stats_pb2

from ..core import targets
from ..core.artifacts import artifacts_prefix, bundle_key
from ..core.jobs import Job, JobError, ScriptProgress, check_worker_may_read
from ..core.listing import (
    decode_index_token,
    decode_page_token,
    encode_index_token,
    encode_page_token,
    job_id_prefix,
    page_size,
)
from ..core.models import ModelVersion
from ..core.shares import DAY_S, DEFAULT_TTL_DAYS, ShareTarget, link_ttl_s
from ..core.states import JobState
from ..core.store import JobStore, Objects
from . import convert, models
from .artifacts import receive_artifacts, send_bundle
from .auth import Authenticator

log = logging.getLogger(__name__)

Request = TypeVar("Request")
Response = TypeVar("Response")
Handler = Callable[["JobStoreService", Request, grpc.aio.ServicerContext], Awaitable[Response]]

# What the runner may report; CANCELLING comes only from a user's CancelJob.
# QUEUED: the runner says why a queued job waits (its reason becomes the job's message).
_REPORTABLE = frozenset(
    {JobState.QUEUED, JobState.LAUNCHING, JobState.RUNNING, JobState.FAILED, JobState.CANCELLED}
)
# ListStudyPoints' pages: a watcher's first look at a study takes a few.
POINTS_PAGE_SIZE = 1000
MAX_POINTS_PAGE_SIZE = 10_000


def rpc(
    *, worker: bool = False, request_stream: bool = False, after_end: bool = False
) -> Callable[[Handler[Request, Response]], Handler[Request, Response]]:
    """Wraps a method: the service token may call it; a worker token only when `worker`, for
    its own job and shard (the request's job_id and shard; a request stream's first
    message's), as JobStoreService._admit says, and once the job ended only when
    `after_end`: a method that then writes nothing and answers "stop" or "done" (a worker
    still running learns that the job ended; a retried completion gets its answer)."""

    def decorate(method: Handler[Request, Response]) -> Handler[Request, Response]:
        @functools.wraps(method)
        async def handle(
            self: JobStoreService, request: Request, context: grpc.aio.ServicerContext
        ) -> Response:
            try:
                caller = self.auth.caller(context.invocation_metadata())
                message: Any = request
                if request_stream:
                    message, rest = await _peek(cast(AsyncIterable[Any], request))
                    request = cast(Request, rest)
                if caller.worker is not None:
                    if not worker:
                        raise SimlabError(
                            Code.PERMISSION_DENIED, "a worker token may not call this method"
                        )
                    job = await self._admit(
                        caller.worker,
                        getattr(message, "job_id", None),
                        getattr(message, "shard", None),
                    )
                    if not after_end:
                        check_worker_may_read(job)
                return await method(self, request, context)
            except SimlabError as error:
                status = to_grpc_status(error)
                await context.abort(status.code, status.details, status.trailing_metadata)
            except Exception:
                if self.draining:
                    # Half shut down (pool closing, ...): not an answer about this call.
                    log.warning("call failed while draining", exc_info=True)
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "job store shutting down")
                log.exception("unexpected failure", extra={"method": method.__name__})
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            raise AssertionError("unreachable: abort raises")

        return handle

    return decorate


class JobStoreService(jobstore_pb2_grpc.JobStoreServiceServicer):
    def __init__(
        self,
        store: JobStore,
        auth: Authenticator,
        objects: Objects,
        share_link_default_ttl_s: int = DEFAULT_TTL_DAYS * DAY_S,
    ) -> None:
        self.store = store
        self.auth = auth
        self.objects = objects
        # A share link's lifetime when its creator did not say.
        self.share_link_default_ttl_s = share_link_default_ttl_s
        # Set once shutdown begins: failures are then the shutdown's, answered UNAVAILABLE.
        self.draining = False

    async def _admit(self, worker: WorkerClaims, job_id: str | None, shard: int | None) -> Job:
        """A worker's token holds for its own job and shard (a call naming no shard: any of
        its job's calls), and for the shard's latest launch only."""
        if worker.job_id != job_id:
            raise SimlabError(
                Code.PERMISSION_DENIED,
                f"a worker token for job {worker.job_id} may only report on that job",
            )
        if shard is not None and shard != worker.shard:
            raise SimlabError(
                Code.PERMISSION_DENIED,
                f"a worker token for shard {worker.shard} may only report on that shard",
            )
        return await self.store.admit_worker(worker.job_id, worker.shard, worker.attempt)

    # ---- the gateway, on behalf of an owner --------------------------------------------------

    @rpc()
    async def CreateJob(
        self, request: store_pb.CreateJobRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.CreateJobResponse:
        job, created = await self.store.create_job(convert.spec_from_pb(request))
        return store_pb.CreateJobResponse(job=convert.job_to_pb(job), created=created)

    @rpc()
    async def CreateJobs(
        self, request: store_pb.CreateJobsRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.CreateJobsResponse:
        # All at once: the store writes concurrent creations together.
        results = await asyncio.gather(*(self._create_one(job) for job in request.jobs))
        return store_pb.CreateJobsResponse(results=results)

    async def _create_one(self, request: store_pb.CreateJobRequest) -> store_pb.CreateJobResult:
        """One CreateJob of a CreateJobs call; a failure worth retrying fails the call."""
        try:
            job, created = await self.store.create_job(convert.spec_from_pb(request))
        except SimlabError as error:
            if not is_refusal(error):
                raise
            return store_pb.CreateJobResult(refused=refusal_to_pb(error))
        answer = store_pb.CreateJobResponse(job=convert.job_to_pb(job), created=created)
        return store_pb.CreateJobResult(created=answer)

    @rpc()
    async def GetJob(
        self, request: store_pb.GetJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        return convert.job_to_pb(await self.store.get_job(request.job_id, request.owner))

    @rpc()
    async def ListJobs(
        self, request: store_pb.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListJobsResponse:
        if not request.owner:
            raise invalid("owner", "must not be empty")
        query = request.query
        jobs, next_page = await self.store.list_jobs(
            request.owner,
            model=query.model,
            states=[convert.state_from_pb(state, "query.states") for state in query.states],
            limit=page_size(query.page_size),
            after=decode_page_token(query.page_token),
            id_prefix=job_id_prefix(query.job_id_prefix),
            include_study_points=query.include_study_points,
        )
        return pb.ListJobsResponse(
            jobs=[convert.job_to_pb(job) for job in jobs],
            next_page_token=encode_page_token(next_page) if next_page else "",
        )

    @rpc()
    async def CancelJob(
        self, request: store_pb.CancelJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        return convert.job_to_pb(await self.store.cancel_job(request.job_id, request.owner))

    @rpc()
    async def GetProgressHistory(
        self, request: store_pb.GetProgressHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ProgressHistory:
        points = await self.store.progress_history(request.job_id, request.owner)
        return pb.ProgressHistory(points=[convert.progress_point_to_pb(p) for p in points])

    @rpc()
    async def ListPresets(
        self, request: store_pb.ListPresetsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPresetsResponse:
        presets = await self.store.list_presets(_owner(request.owner), request.model)
        return pb.ListPresetsResponse(presets=[convert.preset_to_pb(p) for p in presets])

    @rpc()
    async def SavePreset(
        self, request: store_pb.SavePresetRequest, context: grpc.aio.ServicerContext
    ) -> pb.Preset:
        preset = convert.preset_from_pb(request.preset)
        return convert.preset_to_pb(await self.store.save_preset(_owner(request.owner), preset))

    @rpc()
    async def DeletePreset(
        self, request: store_pb.DeletePresetRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeletePresetResponse:
        await self.store.delete_preset(_owner(request.owner), request.name)
        return pb.DeletePresetResponse()

    @rpc()
    async def CreateShareLink(
        self, request: store_pb.CreateShareLinkRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateShareLinkResponse:
        target = ShareTarget.of(request.job_id, request.study_id)
        ttl_s = link_ttl_s(request.ttl_seconds, self.share_link_default_ttl_s)
        link, token = await self.store.create_share_link(_owner(request.owner), target, ttl_s)
        log.info(
            "share link created",
            extra={"job_id": link.job_id, "study_id": link.study_id, "link_id": link.link_id},
        )
        return pb.CreateShareLinkResponse(link=convert.share_link_to_pb(link), token=token)

    @rpc()
    async def ListShareLinks(
        self, request: store_pb.ListShareLinksRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListShareLinksResponse:
        target = ShareTarget.of(request.job_id, request.study_id)
        links = await self.store.list_share_links(_owner(request.owner), target)
        return pb.ListShareLinksResponse(links=[convert.share_link_to_pb(link) for link in links])

    @rpc()
    async def RevokeShareLink(
        self, request: store_pb.RevokeShareLinkRequest, context: grpc.aio.ServicerContext
    ) -> pb.ShareLink:
        link = await self.store.revoke_share_link(_owner(request.owner), request.link_id)
        log.info(
            "share link revoked",
            extra={"job_id": link.job_id, "study_id": link.study_id, "link_id": link.link_id},
        )
        return convert.share_link_to_pb(link)

    @rpc()
    async def ResolveShareToken(
        self, request: store_pb.ResolveShareTokenRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.ResolveShareTokenResponse:
        link = await self.store.resolve_share_token(request.token)
        return store_pb.ResolveShareTokenResponse(
            owner=link.owner, job_id=link.job_id, study_id=link.study_id
        )

    # ---- studies ------------------------------------------------------------------------------

    @rpc()
    async def CreateStudy(
        self, request: store_pb.CreateStudyRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.CreateStudyResponse:
        study, created = await self.store.create_study(convert.new_study_from_pb(request))
        if created:
            log.info("study created", extra={"study_id": study.study_id, "points": study.points})
        return store_pb.CreateStudyResponse(study=convert.study_to_pb(study), created=created)

    @rpc()
    async def GetStudy(
        self, request: store_pb.GetStudyRequest, context: grpc.aio.ServicerContext
    ) -> pb.Study:
        study = await self.store.get_study(request.study_id, request.owner)
        return convert.study_to_pb(study)

    @rpc()
    async def ListStudies(
        self, request: store_pb.ListStudiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStudiesResponse:
        query = request.query
        found, next_page = await self.store.list_studies(
            _owner(request.owner),
            limit=page_size(query.page_size),
            after=decode_page_token(query.page_token),
        )
        return pb.ListStudiesResponse(
            studies=[convert.study_to_pb(study) for study in found],
            next_page_token=encode_page_token(next_page) if next_page else "",
        )

    @rpc()
    async def ListStudyPoints(
        self, request: store_pb.ListStudyPointsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStudyPointsResponse:
        query = request.query
        points, last = await self.store.list_study_points(
            query.study_id,
            request.owner,
            after=decode_index_token(query.page_token),
            limit=page_size(query.page_size, POINTS_PAGE_SIZE, MAX_POINTS_PAGE_SIZE),
            changed_since=request.changed_since.ToDatetime(UTC)
            if request.HasField("changed_since")
            else None,
        )
        return pb.ListStudyPointsResponse(
            points=[convert.study_point_to_pb(job) for job in points],
            next_page_token="" if last is None else encode_index_token(last),
        )

    @rpc()
    async def CancelStudy(
        self, request: store_pb.CancelStudyRequest, context: grpc.aio.ServicerContext
    ) -> pb.Study:
        study = await self.store.cancel_study(request.study_id, request.owner)
        log.info("study cancelled", extra={"study_id": study.study_id})
        return convert.study_to_pb(study)

    @rpc()
    async def ComparePoints(
        self, request: store_pb.ComparePointsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ComparePointsResponse:
        query = request.query
        a, b, comparison = await self.store.compare_points(
            query.study_id, request.owner, query.a, query.b
        )
        return convert.comparison_to_pb(a, b, comparison)

    # ---- the model registry -------------------------------------------------------------------

    @rpc()
    async def GetModel(
        self, request: store_pb.GetModelRequest, context: grpc.aio.ServicerContext
    ) -> pb.Model:
        if request.version < 0:
            raise invalid("version", f"must not be negative, got {request.version}")
        version = await self.store.get_model(request.owner, request.name, request.version)
        return models.model_to_pb(version)

    @rpc()
    async def ListModels(
        self, request: store_pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        found = await self.store.list_models(request.owner)
        return pb.ListModelsResponse(models=[models.model_to_pb(m) for m in found])

    @rpc()
    async def ListModelVersions(
        self, request: store_pb.ListModelVersionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelVersionsResponse:
        found = await self.store.list_model_versions(request.owner, request.name)
        return pb.ListModelVersionsResponse(versions=[models.model_to_pb(m) for m in found])

    @rpc()
    async def BeginRegistration(
        self, request: store_pb.BeginRegistrationRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.BeginRegistrationResponse:
        registration = models.registration_from_pb(request)
        started = await self.store.begin_registration(registration, request.request_id)
        if isinstance(started, ModelVersion):
            return store_pb.BeginRegistrationResponse(existing=models.model_to_pb(started))
        log.info("registration started", extra={"job_id": started.job_id, "model": started.model})
        return store_pb.BeginRegistrationResponse(job=convert.job_to_pb(started))

    @rpc()
    async def RegisterBuiltinModel(
        self, request: store_pb.RegisterBuiltinModelRequest, context: grpc.aio.ServicerContext
    ) -> pb.Model:
        registration, inspection = models.builtin_from_pb(request.model)
        version = await self.store.register_builtin_model(registration, inspection)
        return models.model_to_pb(version)

    # ---- the runner ---------------------------------------------------------------------------

    @rpc()
    async def ReportState(
        self, request: store_pb.ReportStateRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        state = convert.state_from_pb(request.state)
        if state not in _REPORTABLE:
            raise invalid("state", f"a runner reports {', '.join(s.value for s in _REPORTABLE)}")
        error = None
        if state is JobState.FAILED:
            error = (
                convert.error_from_pb(request.error)
                if request.HasField("error")
                else JobError(request.reason or "failed", source="runner")
            )
        job = await self.store.report_state(request.job_id, state, request.reason, error)
        return convert.job_to_pb(job)

    @rpc()
    async def ListActiveJobs(
        self, request: store_pb.ListActiveJobsRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.ListActiveJobsResponse:
        states = [convert.state_from_pb(state, "states") for state in request.states]
        jobs = await self.store.list_active_jobs(states, request.study_id)
        return store_pb.ListActiveJobsResponse(jobs=[convert.job_to_pb(job) for job in jobs])

    # ---- workers ----------------------------------------------------------------------------

    @rpc(worker=True, after_end=True)
    async def StartShard(
        self, request: store_pb.StartShardRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.StartShardResponse:
        job, done_blocks, stop = await self.store.start_shard(
            request.job_id, request.shard, request.runtime
        )
        return store_pb.StartShardResponse(
            job=convert.job_to_pb(job),
            done_blocks=done_blocks,
            stop=stop,
            stop_block=targets.stop_block(job),
        )

    @rpc(worker=True, after_end=True)
    async def ReportBlocks(
        self, request: store_pb.ReportBlocksRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.ReportBlocksResponse:
        blocks = [convert.block_from_pb(block) for block in request.blocks]
        stop, stop_block = await self.store.report_blocks(request.job_id, request.shard, blocks)
        return store_pb.ReportBlocksResponse(stop=stop, stop_block=stop_block)

    @rpc(worker=True, after_end=True)
    async def FinishShard(
        self, request: store_pb.FinishShardRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.FinishShardResponse:
        finalize, blocks, job = await self.store.finish_shard(request.job_id, request.shard)
        return store_pb.FinishShardResponse(
            finalize=finalize,
            blocks=[stats_pb2.BlockStats.FromString(stats) for stats in blocks],
            job=convert.job_to_pb(job),
        )

    @rpc(worker=True, after_end=True)
    async def CompleteJob(
        self, request: store_pb.CompleteJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        summary = convert.struct_to_dict(request.summary)
        return convert.job_to_pb(await self.store.complete_job(request.job_id, summary))

    @rpc(worker=True, after_end=True)
    async def FailJob(
        self, request: store_pb.FailJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        error = convert.error_from_pb(request.error)
        if not error.message:
            # Refusing would lose the failure itself: keep it, under a message that says so.
            error = dataclasses.replace(error, message=f"shard {request.shard} failed (no message)")
        return convert.job_to_pb(await self.store.fail_job(request.job_id, request.shard, error))

    @rpc(worker=True, after_end=True)
    async def ReportProgress(
        self, request: store_pb.ReportProgressRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.ReportProgressResponse:
        progress = ScriptProgress(
            done=request.done,
            total=request.total,
            estimate=request.estimate if request.HasField("estimate") else None,
            stderr=request.stderr if request.HasField("stderr") else None,
        )
        stop = await self.store.report_progress(request.job_id, request.shard, progress)
        return store_pb.ReportProgressResponse(stop=stop)

    @rpc(worker=True, after_end=True)
    async def CompleteRegistration(
        self, request: store_pb.CompleteRegistrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        inspection = models.inspection_from_pb(request.model)
        job = await self.store.complete_registration(request.job_id, inspection)
        log.info("model registered", extra={"job_id": job.job_id, "summary": job.summary})
        return convert.job_to_pb(job)

    @rpc(worker=True)
    async def GetBundle(
        self, request: store_pb.GetBundleRequest, context: grpc.aio.ServicerContext
    ) -> None:
        job = await self.store.get_job(request.job_id)
        await send_bundle(self.objects, bundle_key(job), job.code_sha256, context.write)

    @rpc(worker=True, request_stream=True)
    async def PutArtifacts(
        self,
        requests: AsyncIterator[store_pb.PutArtifactsRequest],
        context: grpc.aio.ServicerContext,
    ) -> store_pb.PutArtifactsResponse:
        first, messages = await _peek(requests)
        if first is None or not first.job_id:
            raise invalid("job_id", "the first message names the job")
        # Checked before the bytes come: a job that ended takes no more results.
        prefix = artifacts_prefix(await self.store.get_job(first.job_id))
        with tempfile.TemporaryDirectory(prefix="simlab-artifacts-") as directory:
            files = await receive_artifacts(messages, Path(directory))
            # Again: the job may have ended while its files came.
            prefix = artifacts_prefix(await self.store.get_job(first.job_id))
            await asyncio.to_thread(self.objects.commit_prefix, prefix, files)
        return store_pb.PutArtifactsResponse(names=list(files))


async def _peek(stream: AsyncIterable[Any]) -> tuple[Any, AsyncIterator[Any]]:
    """The stream's first message (None when empty) and the stream from that message on."""
    messages = aiter(stream)
    first = await anext(messages, None)

    async def replay() -> AsyncIterator[Any]:
        if first is not None:
            yield first
        async for message in messages:
            yield message

    return first, replay()


def _owner(owner: str) -> str:
    """Presets and share links always belong to someone."""
    if not owner:
        raise invalid("owner", "must not be empty")
    return owner
