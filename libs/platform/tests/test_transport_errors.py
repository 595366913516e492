"""SimlabError to Connect and to a grpcio rich status: an INVALID_ARGUMENT about a field carries
a google.rpc.BadRequest naming it, with the message text unchanged; a quota a QuotaFailure."""

from __future__ import annotations

import grpc
from connectrpc.code import Code as ConnectCode
from google.rpc import error_details_pb2, status_pb2

from simlab.common.errors import Code, SimlabError, exhausted, invalid, not_found
from simlab.transport.connect import to_connect
from simlab.transport.errors import (
    from_grpc,
    is_refusal,
    status_details,
    to_grpc_status,
    worth_retrying,
)


def test_a_field_error_becomes_a_bad_request_with_the_message_unchanged() -> None:
    error = invalid("parameters.paths", "must be at least 1")
    assert error.message == "parameters.paths: must be at least 1"
    [detail] = status_details(error)
    [violation] = detail.field_violations
    assert (violation.field, violation.description) == ("parameters.paths", "must be at least 1")

    connect = to_connect(error)
    assert (connect.code, connect.message) == (ConnectCode.INVALID_ARGUMENT, error.message)
    [packed] = connect.details
    unpacked = error_details_pb2.BadRequest()
    assert packed.Unpack(unpacked) and unpacked == detail


def test_the_grpc_status_carries_the_same_detail_in_its_trailer() -> None:
    error = invalid("shards", "at most 16")
    status = to_grpc_status(error)
    assert (status.code, status.details) == (grpc.StatusCode.INVALID_ARGUMENT, "shards: at most 16")
    [(key, value)] = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    rich = status_pb2.Status.FromString(value)
    unpacked = error_details_pb2.BadRequest()
    assert rich.details[0].Unpack(unpacked)
    assert unpacked.field_violations[0].field == "shards"


def test_errors_without_a_field_carry_no_details() -> None:
    assert status_details(not_found("job abc")) == []
    assert status_details(SimlabError(Code.INVALID_ARGUMENT, "no field")) == []
    assert to_connect(not_found("job abc")).details == ()
    assert not status_pb2.Status.FromString(
        to_grpc_status(not_found("job abc")).trailing_metadata[0][1]
    ).details


class _Failed(grpc.RpcError):
    """A failed call as a client sees it: code, message and trailer (what rpc_status reads)."""

    def __init__(self, status: grpc.Status) -> None:
        self.status = status

    def code(self) -> grpc.StatusCode:
        return self.status.code

    def details(self) -> str:
        return self.status.details

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return tuple(self.status.trailing_metadata)


def test_a_quota_is_a_refusal_and_says_so_across_the_wire() -> None:
    quota = exhausted("active jobs per user", 2, "SIMLAB_JOBSTORE_MAX_ACTIVE_JOBS_PER_USER")
    assert is_refusal(quota)
    received = from_grpc(_Failed(to_grpc_status(quota)))
    assert received.code is Code.RESOURCE_EXHAUSTED and received.message == quota.message
    assert received.quota == "SIMLAB_JOBSTORE_MAX_ACTIVE_JOBS_PER_USER"
    assert is_refusal(received) and is_refusal(_Failed(to_grpc_status(quota)))
    assert not worth_retrying(_Failed(to_grpc_status(quota)))
    [packed] = to_connect(quota).details
    unpacked = error_details_pb2.QuotaFailure()
    assert packed.Unpack(unpacked) and unpacked.violations[0].subject == quota.quota


def test_an_overloaded_server_is_worth_retrying() -> None:
    overloaded = SimlabError(Code.RESOURCE_EXHAUSTED, "too many streams")
    assert not is_refusal(overloaded) and status_details(overloaded) == []
    failed = _Failed(to_grpc_status(overloaded))
    assert worth_retrying(failed) and from_grpc(failed).quota is None
