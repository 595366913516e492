"""Tokens: the service token may call everything; a job token only the worker calls and only
for its own job; anything else is refused before the store is touched."""

from __future__ import annotations

import grpc
import pytest

from simlab.common.tokens import job_token
from simlab.jobstore.v1 import jobstore_pb2 as store_pb

pytestmark = pytest.mark.integration


def refusal(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as failed:
        call()
    return failed.value.code()


def test_no_token_or_a_bad_one_is_unauthenticated(client) -> None:  # type: ignore[no-untyped-def]
    job = client.create()
    request = store_pb.GetJobRequest(job_id=job.job_id)
    for token in (None, "not-the-token", job_token("another-secret", job.job_id)):
        assert refusal(lambda t=token: client.call("GetJob", request, t)) is (
            grpc.StatusCode.UNAUTHENTICATED
        )


def test_a_job_token_reports_on_its_own_job_only(client, worker_token) -> None:  # type: ignore[no-untyped-def]
    mine, other = client.create(), client.create()
    token = worker_token(mine.job_id)
    start_mine = store_pb.StartShardRequest(job_id=mine.job_id, shard=0)
    assert client.call("StartShard", start_mine, token).job.job_id == mine.job_id
    start_other = store_pb.StartShardRequest(job_id=other.job_id, shard=0)
    assert refusal(lambda: client.call("StartShard", start_other, token)) is (
        grpc.StatusCode.PERMISSION_DENIED
    )
    # Not a worker's call, even for its own job.
    get_mine = store_pb.GetJobRequest(job_id=mine.job_id)
    assert refusal(lambda: client.call("GetJob", get_mine, token)) is (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert client.get(other.job_id).seq == 1
