"""Worker tokens: `w1.<job>.<shard>.<attempt>.<expiry unix s>.<hmac>`, an HMAC under the
platform's secret of everything before it. The runner mints one per shard launch and renews it
before it expires; the job store checks it without storing anything, and a worker holding one
can report on its own job and shard only, until the expiry. The attempt lets the job store
refuse a zombie of an earlier launch of the same shard.

Share-link tokens are random and start with SHARE_TOKEN_PREFIX, so the gateway knows to
resolve them with the job store instead of looking them up in its token list."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

WORKER_TOKEN_PREFIX = "w1."
SHARE_TOKEN_PREFIX = "simlab_share_"
# shard, attempt, expiry and hmac follow the job id, which may itself hold dots.
_FIELDS_AFTER_JOB = 4


class TokenError(Exception):
    """The token is not a genuine, current worker token; the message says why."""


@dataclass(frozen=True)
class WorkerClaims:
    job_id: str
    shard: int
    # Launches of this shard so far, this one included (1 for the first).
    attempt: int
    # Unix seconds.
    expires_at: int


def worker_token(secret: str, claims: WorkerClaims) -> str:
    body = (
        f"{WORKER_TOKEN_PREFIX}{claims.job_id}.{claims.shard}.{claims.attempt}.{claims.expires_at}"
    )
    return f"{body}.{_mac(secret, body)}"


def verify_worker_token(secret: str, token: str, now: float) -> WorkerClaims:
    """The claims of a genuine token that has not expired at `now` (unix seconds)."""
    if not token.startswith(WORKER_TOKEN_PREFIX):
        raise TokenError("not a worker token")
    body, _, mac = token.rpartition(".")
    # Checked before anything of the body is believed.
    if not body or not hmac.compare_digest(_mac(secret, body), mac):
        raise TokenError("invalid token")
    job_id, *numbers = body.removeprefix(WORKER_TOKEN_PREFIX).rsplit(".", _FIELDS_AFTER_JOB - 1)
    try:
        shard, attempt, expires_at = (int(number) for number in numbers)
    except ValueError:
        raise TokenError("malformed worker token") from None
    if expires_at <= now:
        raise TokenError(f"worker token expired at {expires_at} (unix s)")
    return WorkerClaims(job_id, shard, attempt, expires_at)


def _mac(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def is_share_token(token: str) -> bool:
    return token.startswith(SHARE_TOKEN_PREFIX)
