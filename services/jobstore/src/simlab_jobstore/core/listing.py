"""List paging. ListJobs and ListStudies: newest first, with an opaque keyset cursor (the last
row's created_at and id), so pages stay stable while new rows arrive. ListStudyPoints: in index
order, the token holding the last index sent."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from simlab.common.errors import invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Job and study ids are 16 lowercase hex digits (see new_id).
JOB_ID_LENGTH = 16
_HEX = re.compile(r"[0-9a-f]*")
# Issued tokens are about 40 characters.
MAX_PAGE_TOKEN = 256


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: strictly after (older than) this row (a job or a study)."""

    created_at: datetime
    id: str


def page_size(requested: int, default: int = DEFAULT_PAGE_SIZE, most: int = MAX_PAGE_SIZE) -> int:
    if requested < 0:
        raise invalid("page_size", f"must not be negative, got {requested}")
    return min(requested or default, most)


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
    return _encode([micros, cursor.id])


def decode_page_token(token: str) -> Cursor | None:
    """None for an empty token (the first page); INVALID_ARGUMENT page_token for anything this
    service did not issue, whatever its shape (too long, nested, not JSON)."""
    if not token:
        return None
    try:
        micros, id_ = _decode(token)
        if not isinstance(micros, int) or not isinstance(id_, str):
            raise ValueError("unexpected fields")
        # The id goes into the query: only what new_id makes.
        if len(id_) > JOB_ID_LENGTH or not _HEX.fullmatch(id_):
            raise ValueError("not an id")
        return Cursor(_EPOCH + timedelta(microseconds=micros), id_)
    except (ValueError, TypeError, OverflowError):
        raise invalid("page_token", "not a token this service issued") from None


def encode_index_token(index: int) -> str:
    """The token of the page after the point `index`."""
    return _encode([index])


def decode_index_token(token: str) -> int:
    """The index after which the page starts: -1 for an empty token (the first page)."""
    if not token:
        return -1
    try:
        (index,) = _decode(token)
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 2**31:
            raise ValueError("not a point index")
        return index
    except (ValueError, TypeError):
        raise invalid("page_token", "not a token this service issued") from None


def _encode(fields: list[Any]) -> str:
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> Any:
    """The JSON a token holds; ValueError for anything this service did not issue, whatever
    its shape (too long, nested, not JSON)."""
    if len(token) > MAX_PAGE_TOKEN:
        raise ValueError("too long")
    try:
        # binascii.Error and json's errors are ValueErrors already.
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except RecursionError:
        raise ValueError("nested too deeply") from None
