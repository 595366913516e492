"""SimlabError <-> gRPC status codes: the one mapping every service and the client use (the
Connect side, for the gateway alone, is in connect.py). An INVALID_ARGUMENT also carries a
google.rpc.BadRequest naming the field, so that a client reads the field from the status
details instead of parsing it out of the message; a quota's RESOURCE_EXHAUSTED carries a
google.rpc.QuotaFailure naming its setting, which tells it from an overloaded server's."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.protobuf.any_pb2 import Any
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from simlab.common.errors import Code, SimlabError

M = TypeVar("M", bound=Message)
_GRPC = {code: getattr(grpc.StatusCode, code.name) for code in Code}
_FROM_GRPC = {status: code for code, status in _GRPC.items()}

# A server's verdict on the call itself (who makes it, what it asks for, the state of what it
# names): the same call gets the same answer, so retrying cannot help. Every other status is
# about the server or the way to it (restarting, shutting down, its database away, overloaded,
# a connection cut mid-call) and a later attempt may succeed.
REFUSALS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


def is_refusal(error: grpc.RpcError | SimlabError) -> bool:
    """Whether retrying cannot help: a code in REFUSALS, or a quota (the same call is refused
    until the caller frees something). Any other RESOURCE_EXHAUSTED is an overloaded server."""
    if isinstance(error, SimlabError):
        return to_grpc(error.code) in REFUSALS or error.quota is not None
    code = error.code()
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return _quota(_details(error)) is not None
    return code in REFUSALS


def worth_retrying(error: BaseException) -> bool:
    """Whether a failed call may succeed if made again: a gRPC error that is not a refusal."""
    return isinstance(error, grpc.RpcError) and not is_refusal(error)


def call_name(request: object) -> str:
    """The RPC a request message is for, as logs and errors name it: ReportBlocks."""
    return type(request).__name__.removesuffix("Request")


def retry_unless_refused(log: logging.Logger, call: str) -> Callable[[Exception], bool]:
    """A stamina `on` hook for `call`: retry what is worth retrying, logging its status."""

    def retry(error: Exception) -> bool:
        if not worth_retrying(error):
            return False
        assert isinstance(error, grpc.RpcError)
        log.warning(
            "job store call failed, retrying",
            extra={"call": call, "code": error.code().name, "error": error.details()},
        )
        return True

    return retry


def to_grpc(code: Code) -> grpc.StatusCode:
    return _GRPC[code]


def status_details(error: SimlabError) -> list[Message]:
    """The status details of `error`: a BadRequest with its field violation when it is an
    INVALID_ARGUMENT about a field, a QuotaFailure when it is a quota, else none."""
    if error.code is Code.RESOURCE_EXHAUSTED and error.quota is not None:
        quota = error_details_pb2.QuotaFailure.Violation(
            subject=error.quota, description=error.message
        )
        return [error_details_pb2.QuotaFailure(violations=[quota])]
    if error.code is not Code.INVALID_ARGUMENT or error.field is None:
        return []
    violation = error_details_pb2.BadRequest.FieldViolation(
        field=error.field, description=error.description
    )
    return [error_details_pb2.BadRequest(field_violations=[violation])]


def to_grpc_status(error: SimlabError) -> grpc.Status:
    """The rich status a grpcio servicer aborts with: code, message and their details in the
    grpc-status-details-bin trailer (`context.abort(status.code, status.details,
    status.trailing_metadata)`)."""
    status = status_pb2.Status(code=to_grpc(error.code).value[0], message=error.message)
    for detail in status_details(error):
        status.details.add().Pack(detail)
    return rpc_status.to_status(status)


def from_grpc(error: grpc.RpcError) -> SimlabError:
    """The SimlabError a gRPC call failed with, with the field a BadRequest detail names; codes
    Simlab does not use become UNAVAILABLE (transport trouble) or INTERNAL."""
    status = error.code()
    details = error.details() or str(status)
    if status in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        return SimlabError(Code.UNAVAILABLE, details)
    rich = _details(error)
    return SimlabError(
        _FROM_GRPC.get(status, Code.INTERNAL),
        details,
        field=_violated_field(rich),
        quota=_quota(rich),
    )


def _details(error: grpc.RpcError) -> list[Any]:
    """The call's rich status details (google.protobuf.Any), if it has any."""
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # a rich status that contradicts the call's own code or message
        return []
    return list(status.details) if status else []


def _first(details: list[Any], kind: type[M]) -> M | None:
    """The first of `details` that is a `kind`, unpacked."""
    for detail in details:
        message = kind()
        if detail.Unpack(message):
            return message
    return None


def _violated_field(details: list[Any]) -> str | None:
    """The field the BadRequest among `details` names, if there is one."""
    bad_request = _first(details, error_details_pb2.BadRequest)
    return (
        bad_request.field_violations[0].field
        if bad_request and bad_request.field_violations
        else None
    )


def _quota(details: list[Any]) -> str | None:
    """The setting of the quota the QuotaFailure among `details` names, if there is one."""
    failure = _first(details, error_details_pb2.QuotaFailure)
    return failure.violations[0].subject if failure and failure.violations else None
