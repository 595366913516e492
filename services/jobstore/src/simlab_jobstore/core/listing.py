"""ListJobs paging: newest first, with an opaque keyset cursor (the last row's created_at and
job_id), so pages stay stable while new jobs arrive."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from simlab.common.errors import invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Job ids are 16 lowercase hex digits (see new_job_id).
JOB_ID_LENGTH = 16
_HEX = re.compile(r"[0-9a-f]*")
# Issued tokens are about 40 characters.
MAX_PAGE_TOKEN = 256


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: strictly after (older than) this row."""

    created_at: datetime
    job_id: str


def page_size(requested: int) -> int:
    if requested < 0:
        raise invalid("page_size", f"must not be negative, got {requested}")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def job_id_prefix(requested: str) -> str:
    """The start of a job id to filter by, as pasted: surrounding spaces and case don't matter."""
    prefix = requested.strip().lower()
    if not _HEX.fullmatch(prefix) or len(prefix) > JOB_ID_LENGTH:
        raise invalid(
            "job_id_prefix",
            f"must be up to {JOB_ID_LENGTH} hex digits of a job id, got {requested!r}",
        )
    return prefix


def encode_page_token(cursor: Cursor) -> str:
    micros = (cursor.created_at - _EPOCH) // timedelta(microseconds=1)
    raw = json.dumps([micros, cursor.job_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> Cursor | None:
    """None for an empty token (the first page); INVALID_ARGUMENT page_token for anything this
    service did not issue, whatever its shape (too long, nested, not JSON)."""
    if not token:
        return None
    if len(token) > MAX_PAGE_TOKEN:
        raise invalid("page_token", "not a token this service issued")
    try:
        micros, job_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(micros, int) or not isinstance(job_id, str):
            raise ValueError("unexpected fields")
        # The id goes into the query: only what new_job_id makes.
        if len(job_id) > JOB_ID_LENGTH or not _HEX.fullmatch(job_id):
            raise ValueError("not a job id")
        return Cursor(_EPOCH + timedelta(microseconds=micros), job_id)
    except (ValueError, TypeError, binascii.Error, OverflowError, RecursionError):
        raise invalid("page_token", "not a token this service issued") from None
