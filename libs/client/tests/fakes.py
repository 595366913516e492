"""Stand-ins shared by the client's tests."""

from __future__ import annotations

import grpc


class RpcError(grpc.RpcError):
    """A failed call as a fake stub raises it: a status code and its details, no metadata."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[()]:
        return ()
