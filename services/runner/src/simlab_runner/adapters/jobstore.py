"""The job store as the runner sees it: read jobs, report lifecycle, list active jobs."""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from simlab.common.grpc_util import aio_channel, bearer
from simlab.transport.errors import from_grpc
from simlab.v1 import jobstore_pb2 as store_pb
from simlab.v1 import jobstore_pb2_grpc
from simlab.v1 import simulation_pb2 as pb

TIMEOUT_S = 30.0


class RunnerJobStore:
    def __init__(self, target: str, service_token: str) -> None:
        self.channel = aio_channel(target)
        self.stub = jobstore_pb2_grpc.JobStoreStub(self.channel)
        self.metadata = bearer(service_token)

    async def close(self) -> None:
        await self.channel.close()

    async def get_job(self, job_id: str) -> pb.Job:
        try:
            return await self.stub.GetJob(
                store_pb.StoreGetJobRequest(job_id=job_id),
                metadata=self.metadata,
                timeout=TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as error:
            raise from_grpc(error) from None

    async def report(
        self,
        job_id: str,
        state: pb.JobState,
        reason: str = "",
        error: pb.JobError | None = None,
    ) -> pb.Job:
        try:
            return await self.stub.ReportState(
                store_pb.ReportStateRequest(job_id=job_id, state=state, reason=reason, error=error),
                metadata=self.metadata,
                timeout=TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as error_:
            raise from_grpc(error_) from None

    async def active_jobs(self, states: Iterable[pb.JobState]) -> list[pb.Job]:
        try:
            response = await self.stub.ListActiveJobs(
                store_pb.ListActiveJobsRequest(states=list(states)),
                metadata=self.metadata,
                timeout=TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as error:
            raise from_grpc(error) from None
        return list(response.jobs)
