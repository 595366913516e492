"""The files that pass through the job store for workers, which hold no object-store
credentials: the code bundle a job runs, and the result files it writes (committed at once
under jobs/<job_id>/)."""

from __future__ import annotations

from simlab.common.errors import Code, SimlabError, invalid

from .jobs import Job, JobKind
from .states import TERMINAL

CHUNK_BYTES = 1024 * 1024
MAX_ARTIFACT_BYTES = 256 * 1024 * 1024
MAX_ARTIFACTS = 10_000
MAX_NAME_LENGTH = 1024
# The object store keeps these for its own bookkeeping of a committed set.
_RESERVED_NAME = "manifest.json"
_RESERVED_PREFIX = ".staging-"


def bundle_key(job: Job) -> str:
    """Where the job's code is stored (gateways store each bundle once, by its sha256)."""
    if not job.code_sha256:
        raise SimlabError(
            Code.FAILED_PRECONDITION, f"job {job.job_id} runs no registered code: it has no bundle"
        )
    return f"bundles/{job.code_sha256}.tar"


def artifacts_prefix(job: Job) -> str:
    """Where the job's results go, while it may still write them."""
    if job.kind is JobKind.REGISTRATION:
        raise SimlabError(
            Code.FAILED_PRECONDITION, f"job {job.job_id} is a registration: it has no artifacts"
        )
    if job.state in TERMINAL:
        raise SimlabError(
            Code.FAILED_PRECONDITION,
            f"job {job.job_id} already {job.state.value}: its artifacts are final",
        )
    return f"jobs/{job.job_id}"


def check_artifact_name(name: str) -> None:
    """A relative "/"-separated path that stays under the job's prefix."""
    parts = name.split("/")
    if (
        not name
        or len(name) > MAX_NAME_LENGTH
        or "\\" in name
        or any(not char.isprintable() for char in name)
        or any(part in ("", ".", "..") or part.startswith(_RESERVED_PREFIX) for part in parts)
        or parts[-1] == _RESERVED_NAME
    ):
        raise invalid(
            "name",
            f"{name[:100]!r} is not a safe artifact name: a relative '/'-separated path of at"
            f" most {MAX_NAME_LENGTH} printable characters, without '..', backslashes or"
            f" empty parts, not {_RESERVED_NAME}",
        )


class ArtifactUpload:
    """Accounts for one PutArtifacts stream: the names in order, and the bytes within the
    limit. A message with a name starts that file; data continues the current one."""

    def __init__(self, max_bytes: int = MAX_ARTIFACT_BYTES, max_files: int = MAX_ARTIFACTS):
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.names: list[str] = []
        self.total = 0

    def start(self, name: str) -> None:
        check_artifact_name(name)
        if name in self.names:
            raise invalid("name", f"{name!r} was sent twice")
        if len(self.names) >= self.max_files:
            raise invalid("name", f"at most {self.max_files} files")
        self.names.append(name)

    def add(self, size: int) -> None:
        if not self.names:
            raise invalid("data", "the first file's data came before its name")
        self.total += size
        if self.total > self.max_bytes:
            raise invalid("data", f"the artifacts exceed {self.max_bytes} bytes in all")
