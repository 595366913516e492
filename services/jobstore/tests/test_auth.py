"""Tokens: the service token may call everything; a worker token only the worker calls, only
for its own job and shard, before it expires, while the job runs, and only for the shard's
latest launch; anything else is refused before the store changes."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import grpc
import pytest

from services.jobstore.tests.conftest import Client, block_stats, mint, status_of
from simlab.common.tokens import WorkerClaims, worker_token
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb

pytestmark = pytest.mark.integration


def test_no_token_or_a_bad_one_is_unauthenticated(client: Client) -> None:
    job = client.create()
    request = store_pb.GetJobRequest(job_id=job.job_id)
    for token in (
        None,
        "not-the-token",
        worker_token("another-secret", WorkerClaims(job.job_id, 0, 1, 2**40)),
    ):
        assert status_of(partial(client.call, "GetJob", request, token))[0] is (
            grpc.StatusCode.UNAUTHENTICATED
        )


def test_a_job_token_reports_on_its_own_job_only(
    client: Client, worker_token: Callable[[str], str]
) -> None:
    mine, other = client.create(), client.create()
    token = worker_token(mine.job_id)
    start_mine = store_pb.StartShardRequest(job_id=mine.job_id, shard=0)
    assert client.call("StartShard", start_mine, token).job.job_id == mine.job_id
    start_other = store_pb.StartShardRequest(job_id=other.job_id, shard=0)
    assert status_of(lambda: client.call("StartShard", start_other, token))[0] is (
        grpc.StatusCode.PERMISSION_DENIED
    )
    # Not a worker's call, even for its own job.
    get_mine = store_pb.GetJobRequest(job_id=mine.job_id)
    assert status_of(lambda: client.call("GetJob", get_mine, token))[0] is (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert client.get(other.job_id).seq == 1


def report(client: Client, job_id: str, shard: int, token: str) -> store_pb.ReportBlocksResponse:
    request = store_pb.ReportBlocksRequest(
        job_id=job_id, shard=shard, blocks=[block_stats(shard, [1.0, 2.0])]
    )
    return client.call("ReportBlocks", request, token)


def test_an_expired_worker_token_is_unauthenticated(client: Client) -> None:
    job = client.create()
    client.report_state(job.job_id, pb.JOB_STATE_LAUNCHING)
    start = store_pb.StartShardRequest(job_id=job.job_id, shard=0)
    code, details = status_of(lambda: client.call("StartShard", start, mint(job.job_id, 0, 1, -1)))
    assert (code, "expired" in details) == (grpc.StatusCode.UNAUTHENTICATED, True)
    assert client.get(job.job_id).state == pb.JOB_STATE_LAUNCHING


def test_a_shards_token_cannot_report_for_another_shard(client: Client) -> None:
    job = client.create(shards=4, parameters={"samples": 1000}, block_size=250)
    client.report_state(job.job_id, pb.JOB_STATE_LAUNCHING)
    client.start_shard(job.job_id, 1)
    code, _ = status_of(lambda: report(client, job.job_id, 2, mint(job.job_id, shard=1)))
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert client.get(job.job_id).progress.samples_done == 0
    assert report(client, job.job_id, 1, mint(job.job_id, shard=1)).stop is False


def test_an_earlier_attempt_of_a_shard_is_fenced_off_once_a_later_one_called(
    client: Client,
) -> None:
    job = client.create(shards=2, parameters={"samples": 1000}, block_size=250)
    client.report_state(job.job_id, pb.JOB_STATE_LAUNCHING)
    first, second = mint(job.job_id, 0, attempt=1), mint(job.job_id, 0, attempt=2)
    start = store_pb.StartShardRequest(job_id=job.job_id, shard=0)
    client.call("StartShard", start, first)
    client.call("StartShard", start, second)
    # The zombie of attempt 1 can neither report nor fail the job.
    code, details = status_of(lambda: report(client, job.job_id, 0, first))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert details == f"attempt 1 of shard 0 of job {job.job_id} was superseded by attempt 2"
    fail = store_pb.FailJobRequest(job_id=job.job_id, shard=0, error=pb.JobError(message="x"))
    assert status_of(lambda: client.call("FailJob", fail, first))[0] is (
        grpc.StatusCode.FAILED_PRECONDITION
    )
    assert client.get(job.job_id).state == pb.JOB_STATE_RUNNING
    # Another shard's attempts are its own; the latest attempt goes on.
    client.call(
        "StartShard",
        store_pb.StartShardRequest(job_id=job.job_id, shard=1),
        mint(job.job_id, 1, attempt=1),
    )
    assert report(client, job.job_id, 0, second).stop is False


def test_a_worker_of_an_ended_job_learns_it_ended_and_can_no_longer_read_its_code(
    client: Client,
) -> None:
    job = client.create(shards=2)
    client.report_state(job.job_id, pb.JOB_STATE_LAUNCHING)
    client.start_shard(job.job_id, 0)
    client.fail(job.job_id, 0, message="boom")
    # Nothing is written for an ended job: the answer only says "stop".
    assert report(client, job.job_id, 1, mint(job.job_id, shard=1)).stop is True
    bundle = store_pb.GetBundleRequest(job_id=job.job_id)
    code, details = status_of(
        lambda: list(client.call("GetBundle", bundle, mint(job.job_id, shard=1)))
    )
    assert (code, details) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        f"job {job.job_id} already FAILED: its workers are done",
    )
