"""The one error type of Simlab. Each transport maps it to its status codes in one place."""

from __future__ import annotations

import enum


class Code(enum.Enum):
    """The subset of gRPC status codes Simlab uses; names match grpc.StatusCode and Connect."""

    INVALID_ARGUMENT = "invalid_argument"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    FAILED_PRECONDITION = "failed_precondition"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    # A quota is reached (the message names it, its limit and the setting; `quota` is set), or
    # a server is overloaded (no `quota`: worth retrying later).
    RESOURCE_EXHAUSTED = "resource_exhausted"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class SimlabError(Exception):
    """A failure a caller can act on. `field` names the offending request field, if any;
    `quota` the setting of the quota a RESOURCE_EXHAUSTED is about, if it is one."""

    def __init__(
        self, code: Code, message: str, field: str | None = None, quota: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.quota = quota

    def __str__(self) -> str:
        return self.message

    @property
    def description(self) -> str:
        """What is wrong with `field`: the message without its `field: ` prefix."""
        return self.message.removeprefix(f"{self.field}: ") if self.field else self.message


def invalid(field: str, message: str) -> SimlabError:
    """INVALID_ARGUMENT whose message starts with the field's name, e.g. `parameters.paths: ...`."""
    return SimlabError(Code.INVALID_ARGUMENT, f"{field}: {message}", field=field)


def not_found(what: str) -> SimlabError:
    return SimlabError(Code.NOT_FOUND, f"{what} not found")


def exhausted(quota: str, limit: int, setting: str, advice: str = "") -> SimlabError:
    """RESOURCE_EXHAUSTED for a quota: says which, its limit and the setting that raises it."""
    message = f"quota exceeded: at most {limit} {quota} ({setting})"
    return SimlabError(
        Code.RESOURCE_EXHAUSTED, f"{message}; {advice}" if advice else message, quota=setting
    )
