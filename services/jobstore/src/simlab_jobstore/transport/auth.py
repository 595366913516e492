"""Who is calling, from the `authorization: Bearer <token>` metadata: the platform (the
gateway and the runner hold the service token) or a worker (a token scoped to one job)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from simlab.common.errors import Code, SimlabError
from simlab.common.tokens import job_of_token


@dataclass(frozen=True)
class Caller:
    # The job a worker's token is scoped to; None for the platform's service token.
    job_id: str | None = None


class Authenticator:
    def __init__(self, service_token: str, job_token_secret: str) -> None:
        self.service_token = service_token
        self.job_token_secret = job_token_secret

    def caller(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Caller:
        token = _bearer_token(metadata or ())
        if token is None:
            raise SimlabError(Code.UNAUTHENTICATED, "missing authorization: Bearer <token>")
        if hmac.compare_digest(token.encode(), self.service_token.encode()):
            return Caller()
        job_id = job_of_token(self.job_token_secret, token)
        if job_id is None:
            raise SimlabError(Code.UNAUTHENTICATED, "invalid token")
        return Caller(job_id)


def _bearer_token(metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
    for key, value in metadata:
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    return None
