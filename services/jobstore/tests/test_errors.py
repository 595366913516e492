"""A refusal about a request field names the field in the status details (google.rpc.BadRequest),
so a caller reads it from there and not from the message."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.jobstore.tests.conftest import Client
from simlab.common.errors import Code
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.transport.errors import from_grpc
from simlab.v1 import simulation_pb2 as pb

pytestmark = pytest.mark.integration


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failed:
        call()
    return failed.value


def violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(error)
    assert status is not None, "no grpc-status-details-bin trailer"
    found = []
    for detail in status.details:
        request = error_details_pb2.BadRequest()
        assert detail.Unpack(request), detail.type_url
        found += [(v.field, v.description) for v in request.field_violations]
    return found


def test_an_invalid_argument_names_its_field_in_a_bad_request(client: Client) -> None:
    job = client.create()
    error = refusal(lambda: client.report_state(job.job_id, pb.JOB_STATE_SUCCEEDED))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("state: a runner reports ")
    assert violations(error) == [("state", error.details().removeprefix("state: "))]

    nobody = store_pb.ListJobsRequest(owner="", query=pb.ListJobsRequest())
    error = refusal(lambda: client.call("ListJobs", nobody))
    assert violations(error) == [("owner", "must not be empty")]
    refused = from_grpc(error)
    assert (refused.code, refused.field, refused.message) == (
        Code.INVALID_ARGUMENT,
        "owner",
        "owner: must not be empty",
    )


def test_other_refusals_carry_no_field(client: Client) -> None:
    error = refusal(lambda: client.get("0123456789abcdef", owner="ana"))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert violations(error) == []
    assert from_grpc(error).field is None
