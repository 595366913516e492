"""The job store port: what the gRPC service asks of storage. adapters.postgres implements it;
every change is decided by core (jobs.py) and written with its event atomically."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .jobs import BlockReport, Job, JobError, JobSpec, ProgressPoint
from .listing import Cursor
from .presets import Preset
from .shares import ShareLink
from .states import JobState


class JobStore(Protocol):
    # ---- jobs on behalf of an owner (an empty owner: an internal caller, sees every job) -----

    async def create_job(self, spec: JobSpec) -> tuple[Job, bool]:
        """(job, created): a resubmitted request_id gives back its job with created=False."""
        ...

    async def get_job(self, job_id: str, owner: str = "") -> Job: ...

    async def list_jobs(
        self,
        owner: str,
        *,
        model: str,
        states: Sequence[JobState],
        limit: int,
        after: Cursor | None,
        id_prefix: str = "",
    ) -> tuple[list[Job], Cursor | None]:
        """A page of the owner's jobs, newest first, and the cursor of the next page."""
        ...

    async def cancel_job(self, job_id: str, owner: str) -> Job: ...

    async def progress_history(self, job_id: str, owner: str = "") -> list[ProgressPoint]: ...

    # ---- the runner ---------------------------------------------------------------------------

    async def report_state(
        self, job_id: str, state: JobState, reason: str, error: JobError | None
    ) -> Job: ...

    async def list_active_jobs(self, states: Sequence[JobState]) -> list[Job]: ...

    # ---- workers ------------------------------------------------------------------------------

    async def start_shard(self, job_id: str, shard: int) -> tuple[Job, list[int], bool]:
        """(job, the shard's recorded blocks, stop)."""
        ...

    async def report_blocks(self, job_id: str, shard: int, blocks: Sequence[BlockReport]) -> bool:
        """Records the blocks not recorded yet; the answer is whether the shard should stop."""
        ...

    async def finish_shard(self, job_id: str, shard: int) -> tuple[bool, list[bytes], Job]:
        """(finalize, every block's statistics in block order when finalize, job)."""
        ...

    async def complete_job(self, job_id: str, summary: dict[str, Any]) -> Job: ...

    async def fail_job(self, job_id: str, shard: int, error: JobError) -> Job: ...

    # ---- presets ------------------------------------------------------------------------------

    async def list_presets(self, owner: str, model: str) -> list[Preset]: ...

    async def save_preset(self, owner: str, preset: Preset) -> Preset: ...

    async def delete_preset(self, owner: str, name: str) -> None: ...

    # ---- share links --------------------------------------------------------------------------

    async def create_share_link(
        self, owner: str, job_id: str, ttl_seconds: int
    ) -> tuple[ShareLink, str]:
        """(link, token): the token exists only in this answer."""
        ...

    async def list_share_links(self, owner: str, job_id: str) -> list[ShareLink]: ...

    async def revoke_share_link(self, owner: str, link_id: str) -> ShareLink:
        """Idempotent: revoking a revoked link keeps its first revocation time."""
        ...

    async def resolve_share_token(self, token: str) -> ShareLink: ...
