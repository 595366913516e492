"""JobStoreService against a fake of the JobStore port: how a call is authenticated and how
the store's answers and failures become gRPC statuses, without PostgreSQL or a server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

import grpc
import pytest

from services.jobstore.tests.specs import SPEC
from simlab.common.errors import not_found
from simlab.common.grpc_util import bearer
from simlab.common.tokens import WorkerClaims, worker_token
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab_jobstore.core import jobs
from simlab_jobstore.core.jobs import Job
from simlab_jobstore.core.store import JobStore, Objects
from simlab_jobstore.transport.auth import Authenticator
from simlab_jobstore.transport.service import JobStoreService

SERVICE_TOKEN = "service-token"
SECRET = "job-secret"
NOW = 1_800_000_000.0
JOB = jobs.new_job(SPEC, "0123456789abcdef", 7, datetime(2026, 1, 1, tzinfo=UTC))


class FakeStore:
    """The few JobStore methods these calls reach; `failure`, when set, is raised instead."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failure: Exception | None = None

    async def get_job(self, job_id: str, owner: str = "") -> Job:
        self.calls.append("get_job")
        if self.failure is not None:
            raise self.failure
        if job_id != JOB.job_id or owner not in ("", JOB.owner):
            raise not_found(f"job {job_id}")
        return JOB

    async def admit_worker(self, job_id: str, shard: int, attempt: int) -> Job:
        self.calls.append(f"admit_worker {job_id} {shard} {attempt}")
        return JOB

    async def start_shard(
        self, job_id: str, shard: int, runtime: str = ""
    ) -> tuple[Job, list[int], bool]:
        self.calls.append("start_shard")
        return JOB, [0], False


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, details)
        self.code = code
        self.details = details


class Context:
    """The parts of grpc.aio.ServicerContext the service uses."""

    def __init__(self, token: str | None) -> None:
        self.metadata = bearer(token) if token is not None else ()

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata

    async def abort(
        self, code: grpc.StatusCode, details: str, trailing_metadata: object = ()
    ) -> None:
        raise Aborted(code, details)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def service(store: FakeStore) -> JobStoreService:
    return JobStoreService(
        cast(JobStore, store),
        Authenticator(SERVICE_TOKEN, SECRET, clock=lambda: NOW),
        cast(Objects, None),
    )


Method = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


def call(method: Method, request: Any, token: str | None = SERVICE_TOKEN) -> Any:
    async def answer() -> Any:
        return await method(request, cast(grpc.aio.ServicerContext, Context(token)))

    return asyncio.run(answer())


def refused(method: Method, request: Any, token: str | None = SERVICE_TOKEN) -> Aborted:
    with pytest.raises(Aborted) as aborted:
        call(method, request, token)
    return aborted.value


def test_the_service_token_gets_the_stores_answer_in_protos(service: JobStoreService) -> None:
    job = call(service.GetJob, store_pb.GetJobRequest(job_id=JOB.job_id, owner="ana"))
    assert (job.job_id, job.state, job.seed) == (JOB.job_id, pb.JOB_STATE_QUEUED, 7)


def test_a_store_refusal_keeps_its_code_and_message(service: JobStoreService) -> None:
    aborted = refused(service.GetJob, store_pb.GetJobRequest(job_id=JOB.job_id, owner="bob"))
    assert (aborted.code, aborted.details) == (
        grpc.StatusCode.NOT_FOUND,
        f"job {JOB.job_id} not found",
    )


def test_no_token_is_refused_before_the_store_is_asked(
    service: JobStoreService, store: FakeStore
) -> None:
    request = store_pb.GetJobRequest(job_id=JOB.job_id)
    forged = worker_token("another-secret", WorkerClaims(JOB.job_id, 0, 1, int(NOW) + 60))
    for token in (None, "wrong", forged, SERVICE_TOKEN + "x", SERVICE_TOKEN[:-1]):
        assert refused(service.GetJob, request, token).code is grpc.StatusCode.UNAUTHENTICATED
    assert store.calls == []


def token(job_id: str = JOB.job_id, shard: int = 0, attempt: int = 1, ttl_s: int = 60) -> str:
    return worker_token(SECRET, WorkerClaims(job_id, shard, attempt, int(NOW) + ttl_s))


def test_a_worker_token_may_make_worker_calls_for_its_own_job_only(
    service: JobStoreService, store: FakeStore
) -> None:
    start = store_pb.StartShardRequest(job_id=JOB.job_id, shard=0)
    assert call(service.StartShard, start, token(attempt=3)).done_blocks == [0]
    denied = refused(service.StartShard, start, token("fedcba9876543210"))
    assert denied.code is grpc.StatusCode.PERMISSION_DENIED
    get = store_pb.GetJobRequest(job_id=JOB.job_id)
    assert refused(service.GetJob, get, token()).code is grpc.StatusCode.PERMISSION_DENIED
    # The store fences the attempt (and checks the job's state) before each worker call.
    assert store.calls == [f"admit_worker {JOB.job_id} 0 3", "start_shard"]


def test_a_worker_token_of_one_shard_cannot_report_for_another(
    service: JobStoreService, store: FakeStore
) -> None:
    report = store_pb.ReportBlocksRequest(job_id=JOB.job_id, shard=2)
    denied = refused(service.ReportBlocks, report, token(shard=1))
    assert (denied.code, denied.details) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "a worker token for shard 1 may only report on that shard",
    )
    fail = store_pb.FailJobRequest(job_id=JOB.job_id, shard=2)
    assert refused(service.FailJob, fail, token(shard=1)).code is grpc.StatusCode.PERMISSION_DENIED
    assert store.calls == []


def test_an_expired_or_altered_worker_token_is_unauthenticated(
    service: JobStoreService, store: FakeStore
) -> None:
    start = store_pb.StartShardRequest(job_id=JOB.job_id, shard=0)
    expired = refused(service.StartShard, start, token(ttl_s=0))
    assert expired.code is grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in expired.details
    # The expiry (or the shard, or the attempt) cannot be pushed by editing the token.
    body, _, mac = token(ttl_s=-10).rpartition(".")
    prefix, _, expiry = body.rpartition(".")
    extended = f"{prefix}.{int(expiry) + 3600}.{mac}"
    assert refused(service.StartShard, start, extended).code is grpc.StatusCode.UNAUTHENTICATED
    assert store.calls == []


def test_an_unexpected_failure_is_internal_but_unavailable_once_draining(
    service: JobStoreService, store: FakeStore
) -> None:
    store.failure = RuntimeError("a bug")
    request = store_pb.GetJobRequest(job_id=JOB.job_id)
    aborted = refused(service.GetJob, request)
    assert (aborted.code, aborted.details) == (grpc.StatusCode.INTERNAL, "internal error")
    service.draining = True
    assert refused(service.GetJob, request).code is grpc.StatusCode.UNAVAILABLE
