"""The shape of what callers name things by, checked before anything is looked up or subscribed
to: an id that cannot exist is INVALID_ARGUMENT naming its field, not a query, a NATS
subject with wildcards, or a database error."""

from __future__ import annotations

import re

from simlab.common.errors import invalid

# The job store makes 16 lowercase hex digits (new_job_id); a little wider, so that ids made
# elsewhere (tests, an older format) stay NOT_FOUND rather than malformed. Never '.', '*', '>'
# or a space: a job id is part of a NATS subject.
JOB_ID = re.compile(r"[0-9a-z][0-9a-z-]{0,63}")
# Free text a request carries (names, references, reasons): enough for any real one.
MAX_TEXT = 1024


def check_job_id(value: str, field: str = "job_id") -> str:
    """`value` if it can be a job id, else INVALID_ARGUMENT naming `field`."""
    return _check_id(value, field, "a job id")


def check_study_id(value: str, field: str = "study_id") -> str:
    """`value` if it can be a study id (made like a job id, and also part of a NATS subject),
    else INVALID_ARGUMENT naming `field`."""
    return _check_id(value, field, "a study id")


def _check_id(value: str, field: str, what: str) -> str:
    if not JOB_ID.fullmatch(value):
        shown = value if len(value) <= 80 else value[:80] + "..."
        raise invalid(field, f"not {what}: {shown!r} (lowercase letters, digits and '-')")
    return value


def check_text(value: str, field: str, max_length: int = MAX_TEXT) -> str:
    """`value` if it is at most `max_length` characters with no NUL, else INVALID_ARGUMENT."""
    if len(value) > max_length:
        raise invalid(field, f"must be at most {max_length} characters, got {len(value)}")
    if "\0" in value:
        raise invalid(field, "must not contain NUL characters")
    return value
