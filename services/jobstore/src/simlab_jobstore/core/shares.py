"""Share links: a read-only bearer token for one run. The token is random and shown once;
only its sha256 is stored, so the store can resolve a token but never reproduce one."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from simlab.common.errors import Code, SimlabError, invalid
from simlab.common.tokens import SHARE_TOKEN_PREFIX

MAX_TTL_S = 366 * 24 * 3600


@dataclass(frozen=True)
class ShareLink:
    link_id: str
    owner: str
    job_id: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def check_usable(self, now: datetime) -> None:
        """Raises UNAUTHENTICATED, saying why, when the link no longer grants anything."""
        if self.revoked_at is not None:
            raise SimlabError(Code.UNAUTHENTICATED, "this share link was revoked")
        if self.expires_at is not None and now >= self.expires_at:
            raise SimlabError(Code.UNAUTHENTICATED, "this share link has expired")


def new_share_link(owner: str, job_id: str, ttl_seconds: int, now: datetime) -> ShareLink:
    if not 0 <= ttl_seconds <= MAX_TTL_S:
        raise invalid("ttl_seconds", f"must be 0 (no expiry) to {MAX_TTL_S}, got {ttl_seconds}")
    expires_at = now + timedelta(seconds=ttl_seconds) if ttl_seconds else None
    return ShareLink(uuid.uuid4().hex[:16], owner, job_id, now, expires_at)


def new_token() -> str:
    return SHARE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
