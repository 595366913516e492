"""The job store, called over gRPC with the platform's service token on behalf of a user.
Its gRPC errors come back as SimlabError. Calls that would do their work twice if repeated
(a submission without request_id, a new share link, a deletion) are never retried."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import grpc

from simlab.adapters.jobstore_client import ServiceJobStoreClient
from simlab.common.coalesce import Coalescer
from simlab.common.errors import SimlabError
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.transport.precision import precision_to_proto
from simlab.transport.refusals import refusal_from_pb, refusal_to_pb
from simlab.transport.structs import dict_to_struct
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.ports import Registration
from simlab_gateway.core.studies import StudyPlan
from simlab_gateway.core.submission import JobPlan

# CreateJobs calls at once (see JobStoreClient._creates).
CREATE_CALLS_IN_FLIGHT = 4


class JobStoreClient(ServiceJobStoreClient):
    """The gateway's port core.ports.JobStore, plus the share-token lookup core.auth needs."""

    def __init__(self, target: str, service_token: str, *, retry_for_s: float) -> None:
        super().__init__(target, service_token, retry_for_s=retry_for_s)
        # Concurrent submissions that have a request_id go to the job store together, in one
        # CreateJobs call: one call's cost instead of one each. Their request_ids make the
        # call safe to retry as a whole. Calls overlap, so that this process prepares a batch
        # while the job store writes another.
        self._creates: Coalescer[store_pb.CreateJobRequest, store_pb.CreateJobResult] = Coalescer(
            self._create_jobs, max_in_flight=CREATE_CALLS_IN_FLIGHT
        )

    async def create_job(self, owner: str, request_id: str, plan: JobPlan) -> tuple[pb.Job, bool]:
        request = store_pb.CreateJobRequest(
            owner=owner,
            request_id=request_id,
            model=plan.model,
            parameters=dict_to_struct(plan.parameters),
            seed=plan.seed,
            shards=plan.shards,
            primary_output=plan.primary_output,
            block_size=plan.block_size,
            samples_total=plan.samples_total,
            model_version=plan.model_version,
            code_sha256=plan.code_sha256,
            args=plan.args,
            precision=None if plan.precision is None else precision_to_proto(plan.precision),
            no_cache=plan.no_cache,
            extends=plan.extends,
            latest=plan.latest,
        )
        if not request_id:
            # Never retried: a second attempt could make a second job.
            created = await self._call(self.stub.CreateJob, request, idempotent=False)
            return created.job, created.created
        result = await self._creates.submit(request)
        if result.HasField("refused"):
            raise refusal_from_pb(result.refused)
        return result.created.job, result.created.created

    async def _create_jobs(
        self, requests: list[store_pb.CreateJobRequest]
    ) -> list[store_pb.CreateJobResult]:
        response = await self._call(
            self._create_jobs_if_known, store_pb.CreateJobsRequest(jobs=requests)
        )
        if response is None:
            # A job store older than CreateJobs (an upgrade rolling out): one CreateJob each,
            # as before it. Each has a request_id, so each is safe to retry.
            return list(await asyncio.gather(*(self._create_one(r) for r in requests)))
        return list(response.results)

    async def _create_jobs_if_known(
        self, request: store_pb.CreateJobsRequest, **call: Any
    ) -> store_pb.CreateJobsResponse | None:
        """CreateJobs' answer, or None from a job store that does not have it."""
        try:
            response: store_pb.CreateJobsResponse = await self.stub.CreateJobs(request, **call)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None
            raise
        return response

    async def _create_one(self, request: store_pb.CreateJobRequest) -> store_pb.CreateJobResult:
        try:
            created = await self._call(self.stub.CreateJob, request)
        except SimlabError as error:
            return store_pb.CreateJobResult(refused=refusal_to_pb(error))
        return store_pb.CreateJobResult(created=created)

    async def get_job(self, owner: str, job_id: str) -> pb.Job:
        return await self._call(
            self.stub.GetJob, store_pb.GetJobRequest(owner=owner, job_id=job_id)
        )

    async def list_jobs(self, owner: str, query: pb.ListJobsRequest) -> pb.ListJobsResponse:
        return await self._call(
            self.stub.ListJobs, store_pb.ListJobsRequest(owner=owner, query=query)
        )

    async def cancel_job(self, owner: str, job_id: str) -> pb.Job:
        return await self._call(
            self.stub.CancelJob, store_pb.CancelJobRequest(owner=owner, job_id=job_id)
        )

    async def progress_history(self, owner: str, job_id: str) -> pb.ProgressHistory:
        return await self._call(
            self.stub.GetProgressHistory,
            store_pb.GetProgressHistoryRequest(owner=owner, job_id=job_id),
        )

    async def list_presets(self, owner: str, model: str) -> pb.ListPresetsResponse:
        return await self._call(
            self.stub.ListPresets, store_pb.ListPresetsRequest(owner=owner, model=model)
        )

    async def save_preset(self, owner: str, preset: pb.Preset) -> pb.Preset:
        return await self._call(
            self.stub.SavePreset, store_pb.SavePresetRequest(owner=owner, preset=preset)
        )

    async def delete_preset(self, owner: str, name: str) -> pb.DeletePresetResponse:
        return await self._call(
            self.stub.DeletePreset,
            store_pb.DeletePresetRequest(owner=owner, name=name),
            idempotent=False,
        )

    async def create_share_link(
        self, owner: str, request: pb.CreateShareLinkRequest
    ) -> pb.CreateShareLinkResponse:
        create = store_pb.CreateShareLinkRequest(
            owner=owner,
            job_id=request.job_id,
            study_id=request.study_id,
            ttl_seconds=request.ttl_seconds,
        )
        return await self._call(self.stub.CreateShareLink, create, idempotent=False)

    async def list_share_links(
        self, owner: str, query: pb.ListShareLinksRequest
    ) -> pb.ListShareLinksResponse:
        return await self._call(
            self.stub.ListShareLinks,
            store_pb.ListShareLinksRequest(
                owner=owner, job_id=query.job_id, study_id=query.study_id
            ),
        )

    async def revoke_share_link(self, owner: str, link_id: str) -> pb.ShareLink:
        return await self._call(
            self.stub.RevokeShareLink,
            store_pb.RevokeShareLinkRequest(owner=owner, link_id=link_id),
        )

    async def create_study(
        self, owner: str, request_id: str, plan: StudyPlan
    ) -> tuple[pb.Study, bool]:
        # 10,000 points take a fifth of a second to encode: not on the event loop.
        request = await asyncio.to_thread(_create_study_request, owner, request_id, plan)
        created = await self._call(self.stub.CreateStudy, request, idempotent=bool(request_id))
        return created.study, created.created

    async def get_study(self, owner: str, study_id: str) -> pb.Study:
        return await self._call(
            self.stub.GetStudy, store_pb.GetStudyRequest(owner=owner, study_id=study_id)
        )

    async def list_studies(
        self, owner: str, query: pb.ListStudiesRequest
    ) -> pb.ListStudiesResponse:
        return await self._call(
            self.stub.ListStudies, store_pb.ListStudiesRequest(owner=owner, query=query)
        )

    async def list_study_points(
        self, owner: str, query: pb.ListStudyPointsRequest, changed_since: datetime | None = None
    ) -> pb.ListStudyPointsResponse:
        request = store_pb.ListStudyPointsRequest(owner=owner, query=query)
        if changed_since is not None:
            request.changed_since.FromDatetime(changed_since)
        return await self._call(self.stub.ListStudyPoints, request)

    async def cancel_study(self, owner: str, study_id: str) -> pb.Study:
        return await self._call(
            self.stub.CancelStudy, store_pb.CancelStudyRequest(owner=owner, study_id=study_id)
        )

    async def compare_points(
        self, owner: str, query: pb.ComparePointsRequest
    ) -> pb.ComparePointsResponse:
        return await self._call(
            self.stub.ComparePoints, store_pb.ComparePointsRequest(owner=owner, query=query)
        )

    async def get_model(self, owner: str, name: str, version: int) -> pb.Model:
        return await self._call(
            self.stub.GetModel, store_pb.GetModelRequest(owner=owner, name=name, version=version)
        )

    async def list_models(self, owner: str) -> pb.ListModelsResponse:
        return await self._call(self.stub.ListModels, store_pb.ListModelsRequest(owner=owner))

    async def list_model_versions(self, owner: str, name: str) -> pb.ListModelVersionsResponse:
        return await self._call(
            self.stub.ListModelVersions, store_pb.ListModelVersionsRequest(owner=owner, name=name)
        )

    async def begin_registration(self, owner: str, registration: Registration) -> pb.Job | pb.Model:
        request = store_pb.BeginRegistrationRequest(
            owner=owner,
            name=registration.name,
            public=registration.public,
            code_sha256=registration.code_sha256,
            code_size=registration.code_size,
            entry=registration.entry,
            files=registration.files,
            request_id=registration.request_id,
        )
        begun = await self._call(self.stub.BeginRegistration, request)
        return begun.existing if begun.HasField("existing") else begun.job

    async def register_builtin_model(self, model: pb.Model) -> pb.Model:
        return await self._call(
            self.stub.RegisterBuiltinModel, store_pb.RegisterBuiltinModelRequest(model=model)
        )

    async def resolve_share_token(self, token: str) -> Principal:
        """Whom a usable share link acts as, and what it shows; UNAUTHENTICATED otherwise."""
        resolved = await self._call(
            self.stub.ResolveShareToken, store_pb.ResolveShareTokenRequest(token=token)
        )
        if resolved.study_id:
            return Principal(resolved.owner, shared_study=resolved.study_id)
        return Principal(resolved.owner, shared_job=resolved.job_id)


def _create_study_request(
    owner: str, request_id: str, plan: StudyPlan
) -> store_pb.CreateStudyRequest:
    return store_pb.CreateStudyRequest(
        owner=owner,
        request_id=request_id,
        spec=plan.spec,
        model=plan.model,
        model_version=plan.model_version,
        code_sha256=plan.code_sha256,
        primary_output=plan.primary_output,
        swept=plan.swept,
        points=[
            store_pb.StudyPointSpec(
                parameters=dict_to_struct(point.parameters),
                seed=point.seed,
                block_size=point.block_size,
                samples_total=point.samples_total,
            )
            for point in plan.points
        ],
    )
