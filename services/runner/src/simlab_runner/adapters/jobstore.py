"""The job store as the runner sees it: read jobs, report lifecycle, list active jobs (all,
or one study's points)."""

from __future__ import annotations

from collections.abc import Iterable

from simlab.adapters.jobstore_client import ServiceJobStoreClient
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb


class RunnerJobStore(ServiceJobStoreClient):
    async def get_job(self, job_id: str) -> pb.Job:
        return await self._call(self.stub.GetJob, store_pb.GetJobRequest(job_id=job_id))

    async def report(
        self,
        job_id: str,
        state: pb.JobState,
        reason: str = "",
        error: pb.JobError | None = None,
    ) -> pb.Job:
        request = store_pb.ReportStateRequest(
            job_id=job_id, state=state, reason=reason, error=error
        )
        return await self._call(self.stub.ReportState, request)

    async def active_jobs(self, states: Iterable[pb.JobState], study_id: str = "") -> list[pb.Job]:
        request = store_pb.ListActiveJobsRequest(states=list(states), study_id=study_id)
        return list((await self._call(self.stub.ListActiveJobs, request)).jobs)
