"""Tokens: the service token may call everything; a job token only the worker calls and only
for its own job; anything else is refused before the store is touched."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import grpc
import pytest

from services.jobstore.tests.conftest import Client, status_of
from simlab.common.tokens import job_token
from simlab.jobstore.v1 import jobstore_pb2 as store_pb

pytestmark = pytest.mark.integration


def test_no_token_or_a_bad_one_is_unauthenticated(client: Client) -> None:
    job = client.create()
    request = store_pb.GetJobRequest(job_id=job.job_id)
    for token in (None, "not-the-token", job_token("another-secret", job.job_id)):
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
