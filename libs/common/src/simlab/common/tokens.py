"""Job-scoped tokens: an HMAC of the job id under the platform's secret. A worker holding one
can report on its own job only, and the job store checks it without storing anything."""

from __future__ import annotations

import hashlib
import hmac

_PREFIX = "job."


def job_token(secret: str, job_id: str) -> str:
    mac = hmac.new(secret.encode(), f"{_PREFIX}{job_id}".encode(), hashlib.sha256).hexdigest()
    return f"{_PREFIX}{job_id}.{mac}"


def job_of_token(secret: str, token: str) -> str | None:
    """The job id the token was issued for, or None when the token is not genuine."""
    if not token.startswith(_PREFIX) or token.count(".") < 2:
        return None
    job_id = token[len(_PREFIX) : token.rindex(".")]
    return job_id if hmac.compare_digest(job_token(secret, job_id), token) else None
