"""Job-scoped tokens: an HMAC of the job id under the platform's secret. A worker holding one
can report on its own job only, and the job store checks it without storing anything.

Share-link tokens are random and start with SHARE_TOKEN_PREFIX, so the gateway knows to
resolve them with the job store instead of looking them up in its token list."""

from __future__ import annotations

import hashlib
import hmac

_PREFIX = "job."
SHARE_TOKEN_PREFIX = "simlab_share_"


def job_token(secret: str, job_id: str) -> str:
    mac = hmac.new(secret.encode(), f"{_PREFIX}{job_id}".encode(), hashlib.sha256).hexdigest()
    return f"{_PREFIX}{job_id}.{mac}"


def job_of_token(secret: str, token: str) -> str | None:
    """The job id the token was issued for, or None when the token is not genuine."""
    if not token.startswith(_PREFIX) or token.count(".") < 2:
        return None
    job_id = token[len(_PREFIX) : token.rindex(".")]
    return job_id if hmac.compare_digest(job_token(secret, job_id), token) else None


def is_share_token(token: str) -> bool:
    return token.startswith(SHARE_TOKEN_PREFIX)
