"""What a job store answers while it shuts down or loses its database: a worker treats any
refusal (FAILED_PRECONDITION, NOT_FOUND, ...) as the end of its job, so the job store's own
trouble must look like what it is, UNAVAILABLE, never a refusal nor INTERNAL."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.jobstore.tests.conftest import Client, InProcessJobStore, JobStoreProcess

pytestmark = pytest.mark.integration


def code_of(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value.code()


def health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    return answer.status


def test_on_sigterm_it_reports_not_ready_keeps_serving_then_refuses_new_calls_as_unavailable(
    jobstore_env: Callable[..., dict[str, str]], start_process: Callable[..., JobStoreProcess]
) -> None:
    process = start_process(jobstore_env(DRAIN_DELAY_S="1.5", DRAIN_GRACE_S="5"))
    client = process.client
    job = client.create(shards=1)
    client.start_shard(job.job_id, 0)
    address = client.address
    assert health(address) == health_pb2.HealthCheckResponse.SERVING

    process.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    while health(address) != health_pb2.HealthCheckResponse.NOT_SERVING:
        assert time.monotonic() < deadline, "still ready after SIGTERM"
        time.sleep(0.05)
    # Not ready, but still serving calls while load balancers catch up.
    assert not client.report_blocks(job.job_id, 0, {0: [1.0, 2.0]}).stop
    assert process.wait() == 0
    # Gone: what a caller sees now is UNAVAILABLE, which it retries.
    assert code_of(lambda: client.report_blocks(job.job_id, 0, {1: [1.0]})) == (
        grpc.StatusCode.UNAVAILABLE
    )
    drained = [line["msg"] for line in process.lines]
    assert "jobstore stopped" in drained, drained
    client.close()


def test_a_database_restart_under_it_is_unavailable_then_served_again(
    client: Client, pg_uri: str
) -> None:
    job = client.create(shards=1)
    # What a PostgreSQL restart or failover does to every pooled connection.
    with psycopg.connect(pg_uri, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    seen = []
    deadline = time.monotonic() + 10
    while True:
        try:
            got = client.get(job.job_id)
            break
        except grpc.RpcError as error:
            seen.append(error.code())
            assert time.monotonic() < deadline, seen
    assert got.job_id == job.job_id
    assert seen and set(seen) == {grpc.StatusCode.UNAVAILABLE}, seen


def test_an_unexpected_failure_is_internal_but_unavailable_once_draining(
    jobstore: InProcessJobStore, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = client.create(shards=1)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(jobstore.app.service.store, "get_job", broken)
    assert code_of(lambda: client.get(job.job_id)) == grpc.StatusCode.INTERNAL
    jobstore.app.service.draining = True
    assert code_of(lambda: client.get(job.job_id)) == grpc.StatusCode.UNAVAILABLE
