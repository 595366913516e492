"""Who is calling, from the `authorization: Bearer <token>` metadata: the platform (the
gateway and the runner hold the service token) or a worker (a token scoped to one shard of
one job, for one launch, until it expires: simlab.common.tokens)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from simlab.common.errors import Code, SimlabError
from simlab.common.tokens import TokenError, WorkerClaims, verify_worker_token


@dataclass(frozen=True)
class Caller:
    # What a worker's token grants; None for the platform's service token.
    worker: WorkerClaims | None = None


class Authenticator:
    def __init__(
        self,
        service_token: str,
        job_token_secret: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service_token = service_token.encode()
        self.job_token_secret = job_token_secret
        self.clock = clock

    def caller(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Caller:
        token = _bearer_token(metadata or ())
        if token is None:
            raise SimlabError(Code.UNAUTHENTICATED, "missing authorization: Bearer <token>")
        # Constant-time: how much of a guess matches must not show in the answer's timing.
        if hmac.compare_digest(token.encode(), self.service_token):
            return Caller()
        try:
            return Caller(verify_worker_token(self.job_token_secret, token, self.clock()))
        except TokenError as error:
            raise SimlabError(Code.UNAUTHENTICATED, str(error)) from None


def _bearer_token(metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
    for key, value in metadata:
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    return None
