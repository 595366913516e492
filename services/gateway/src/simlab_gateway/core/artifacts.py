"""Which artifacts a job has and how they are served."""

from __future__ import annotations

import mimetypes
import re

from simlab.adapters.objectstore import MAX_KEY_DEPTH, MAX_KEY_LENGTH, valid_key
from simlab.common.errors import invalid
from simlab.v1 import simulation_pb2 as pb

# What one read from the object store brings, and one message or HTTP chunk carries.
CHUNK = 256 * 1024
_SHARD_LOG = re.compile(r"logs/shard-(\d+)\.log")
# Types that matter to a browser; everything else downloads as bytes.
_TYPES = {".json": "application/json", ".csv": "text/csv", ".npz": "application/octet-stream"}


def job_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/"


def files_job(job: pb.Job) -> str:
    """The run whose files (artifacts, stored logs) are `job`'s: a cache hit has none of its
    own, it reuses those of the run it was served from."""
    return job.cached_from or job.job_id


def bundle_key(sha256: str) -> str:
    """Where a bundle (simlab.bundle) is stored: once, under its content's hash."""
    return f"bundles/{sha256}.tar"


def artifact_key(job_id: str, name: str) -> str:
    """The key of artifact `name`; INVALID_ARGUMENT for a name no object can have (too long,
    too deep, NUL, an empty, '.' or '..' segment)."""
    key = job_prefix(job_id) + name
    if not valid_key(key):
        shown = name if len(name) <= 80 else name[:80] + "..."
        raise invalid(
            "name",
            f"not an artifact name: {shown!r} (at most {MAX_KEY_DEPTH - 2} segments and "
            f"{MAX_KEY_LENGTH - len(job_prefix(job_id))} characters, none empty, '.' or '..')",
        )
    return key


def content_type(name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name else ""
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def log_shard(name: str) -> int | None:
    """The shard whose stored log `name` (relative to the job's prefix) is, if it is one."""
    match = _SHARD_LOG.fullmatch(name)
    return int(match.group(1)) if match else None
