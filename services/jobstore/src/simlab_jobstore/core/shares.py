"""Share links: a read-only bearer token for one run, or for one study and its points. The
token is random and shown once; only its sha256 is stored, so the store can resolve a token but
never reproduce one. A link expires after the TTL asked for, after the job store's default when
none was asked for (CreateShareLink's ttl_seconds 0, the field unset), and never only when asked
explicitly (ttl_seconds NEVER_EXPIRES)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from simlab.common.errors import Code, SimlabError, invalid
from simlab.common.tokens import SHARE_TOKEN_PREFIX

DAY_S = 24 * 3600
MAX_TTL_S = 366 * DAY_S
DEFAULT_TTL_DAYS = 30
# CreateShareLink's ttl_seconds for a link that never expires.
NEVER_EXPIRES = -1


@dataclass(frozen=True)
class ShareTarget:
    """What a link shares: exactly one of a run and a study."""

    job_id: str = ""
    study_id: str = ""

    @staticmethod
    def of(job_id: str, study_id: str) -> ShareTarget:
        if bool(job_id) == bool(study_id):
            given = "both" if job_id else "neither"
            raise invalid("job_id", f"set exactly one of job_id and study_id, got {given}")
        return ShareTarget(job_id, study_id)


@dataclass(frozen=True)
class ShareLink:
    link_id: str
    owner: str
    # Exactly one is set.
    job_id: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    study_id: str = ""

    def check_usable(self, now: datetime) -> None:
        """Raises UNAUTHENTICATED, saying why, when the link no longer grants anything."""
        if self.revoked_at is not None:
            raise SimlabError(Code.UNAUTHENTICATED, "this share link was revoked")
        if self.expires_at is not None and now >= self.expires_at:
            raise SimlabError(Code.UNAUTHENTICATED, "this share link has expired")


def link_ttl_s(requested: int, default_s: int) -> int | None:
    """The lifetime of a link asked for with ttl_seconds `requested`; None: it never expires."""
    if requested == NEVER_EXPIRES:
        return None
    if requested == 0:
        return default_s
    if not 0 < requested <= MAX_TTL_S:
        raise invalid(
            "ttl_seconds",
            f"must be 1 to {MAX_TTL_S}, 0 (the default expiry) or {NEVER_EXPIRES} (never),"
            f" got {requested}",
        )
    return requested


def new_share_link(owner: str, target: ShareTarget, ttl_s: int | None, now: datetime) -> ShareLink:
    """A link expiring `ttl_s` after `now` (None: never)."""
    expires_at = None if ttl_s is None else now + timedelta(seconds=ttl_s)
    return ShareLink(
        uuid.uuid4().hex[:16], owner, target.job_id, now, expires_at, study_id=target.study_id
    )


def new_token() -> str:
    return SHARE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
