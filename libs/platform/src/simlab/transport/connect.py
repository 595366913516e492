"""SimlabError -> Connect status codes, for the gateway's Connect endpoints. Apart from
errors.py so that the client, which speaks gRPC only, does not need connect-python."""

from __future__ import annotations

from connectrpc.code import Code as ConnectCode
from connectrpc.errors import ConnectError

from simlab.common.errors import SimlabError
from simlab.transport.errors import status_details


def to_connect(error: SimlabError) -> ConnectError:
    return ConnectError(getattr(ConnectCode, error.code.name), error.message, status_details(error))
