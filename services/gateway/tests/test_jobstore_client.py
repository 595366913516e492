"""The gateway's job-store client against a job store older than CreateJobs (an upgrade rolling
out, the gateway first): submissions still go through, one CreateJob each, refusals intact."""

from __future__ import annotations

import asyncio

import grpc

from simlab.common.errors import Code, SimlabError
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.transport.errors import to_grpc_status
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.adapters.jobstore import JobStoreClient
from simlab_gateway.core.submission import JobPlan

PLAN = JobPlan("pi", {"samples": 1000}, seed=1, shards=1, primary_output="estimate",
               block_size=1000, samples_total=1000)  # fmt: skip


class OldJobStore:
    """Serves CreateJob only: gRPC itself answers UNIMPLEMENTED to the rest, as a job store
    built before they existed does."""

    def __init__(self) -> None:
        self.created: list[str] = []

    async def CreateJob(
        self, request: store_pb.CreateJobRequest, context: grpc.aio.ServicerContext
    ) -> store_pb.CreateJobResponse:
        if request.model == "nonesuch":
            error = SimlabError(Code.INVALID_ARGUMENT, "model: no such model", "model")
            status = to_grpc_status(error)
            await context.abort(status.code, status.details, status.trailing_metadata)
        self.created.append(request.request_id)
        job = pb.Job(job_id=f"job-{request.request_id}", model=request.model)
        return store_pb.CreateJobResponse(job=job, created=True)


async def _scenario() -> tuple[list[object], list[str]]:
    server = grpc.aio.server()
    store = OldJobStore()
    create_job = grpc.unary_unary_rpc_method_handler(
        store.CreateJob,
        request_deserializer=store_pb.CreateJobRequest.FromString,
        response_serializer=store_pb.CreateJobResponse.SerializeToString,
    )
    service = "simlab.jobstore.v1.JobStoreService"
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {"CreateJob": create_job}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        client = JobStoreClient(f"127.0.0.1:{port}", "token", retry_for_s=2)
        bad = JobPlan(**{**PLAN.__dict__, "model": "nonesuch"})
        outcomes = await asyncio.gather(
            client.create_job("alice", "r1", PLAN),
            client.create_job("alice", "r2", PLAN),
            client.create_job("alice", "r3", bad),
            return_exceptions=True,
        )
        return list(outcomes), store.created
    finally:
        await server.stop(None)


def test_submissions_reach_a_job_store_that_has_no_create_jobs_one_create_job_each() -> None:
    outcomes, created = asyncio.run(_scenario())
    first, second, refused = outcomes
    assert isinstance(first, tuple) and first[0].job_id == "job-r1" and first[1] is True
    assert isinstance(second, tuple) and second[0].job_id == "job-r2"
    assert isinstance(refused, SimlabError)
    assert (refused.code, refused.field) == (Code.INVALID_ARGUMENT, "model")
    assert sorted(created) == ["r1", "r2"]
