"""SimlabError <-> gRPC and Connect status codes: the one mapping every service uses."""

from __future__ import annotations

import grpc
from connectrpc.code import Code as ConnectCode
from connectrpc.errors import ConnectError

from simlab.common.errors import Code, SimlabError

_GRPC = {code: getattr(grpc.StatusCode, code.name) for code in Code}
_FROM_GRPC = {status: code for code, status in _GRPC.items()}


def to_grpc(code: Code) -> grpc.StatusCode:
    return _GRPC[code]


def to_connect(error: SimlabError) -> ConnectError:
    return ConnectError(getattr(ConnectCode, error.code.name), error.message)


def from_grpc(error: grpc.RpcError) -> SimlabError:
    """The SimlabError a gRPC call failed with; codes Simlab does not use become UNAVAILABLE
    (transport trouble) or INTERNAL."""
    status = error.code()
    details = error.details() or str(status)
    if status in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        return SimlabError(Code.UNAVAILABLE, details)
    return SimlabError(_FROM_GRPC.get(status, Code.INTERNAL), details)
