"""The workers' tokens (simlab.common.tokens): one per shard launch, bound to the job, the
shard and the launch attempt, expiring after a TTL. The launchers hand them over as files
(never in an environment) and rewrite them every `renew_every_s`, well before they expire,
for as long as the shard runs; a worker re-reads its file when it changes."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from simlab.common.tokens import WorkerClaims, worker_token

# Renewed at a third of the TTL: two renewals may fail or come late before a token expires.
RENEWALS_PER_TTL = 3


class WorkerTokens:
    def __init__(self, secret: str, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.ttl_s = ttl_s
        self.clock = clock

    def mint(self, job_id: str, shard: int, attempt: int) -> str:
        # Rounded up to whole seconds: a token is never shorter-lived than the TTL.
        expires_at = math.ceil(self.clock() + self.ttl_s)
        return worker_token(self.secret, WorkerClaims(job_id, shard, attempt, expires_at))

    @property
    def renew_every_s(self) -> float:
        return self.ttl_s / RENEWALS_PER_TTL
