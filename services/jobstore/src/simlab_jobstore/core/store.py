"""The ports: what the gRPC service asks of storage (JobStore: adapters.postgres implements it;
every change is decided by core and written with its event atomically) and of the object store
(Objects: simlab.adapters.objectstore's stores fit it)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .jobs import BlockReport, Job, JobError, JobSpec, ProgressPoint, ScriptProgress
from .listing import Cursor
from .models import Inspection, ModelVersion, Registration
from .presets import Preset
from .shares import ShareLink, ShareTarget
from .states import JobState
from .studies import Comparison, NewStudy, Study


class JobStore(Protocol):
    # ---- jobs on behalf of an owner (an empty owner: an internal caller, sees every job) -----

    async def create_job(self, spec: JobSpec) -> tuple[Job, bool]:
        """(job, created): a resubmitted request_id gives back its job with created=False; a
        cache hit is created SUCCEEDED, a top-up with the blocks it reuses."""
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
        include_study_points: bool = False,
    ) -> tuple[list[Job], Cursor | None]:
        """A page of the owner's jobs (studies' points only when asked for), newest first, and
        the cursor of the next page."""
        ...

    async def cancel_job(self, job_id: str, owner: str) -> Job: ...

    async def progress_history(self, job_id: str, owner: str = "") -> list[ProgressPoint]:
        """The job's progress points (a cache hit's: those of the run it reused)."""
        ...

    # ---- studies on behalf of an owner (an empty owner: an internal caller) -----------------

    async def create_study(self, new: NewStudy) -> tuple[Study, bool]:
        """(study, created): every point inserted in one transaction and announced by one
        StudyQueuedEvent; a resubmitted request_id gives back its study with created=False."""
        ...

    async def get_study(self, study_id: str, owner: str = "") -> Study: ...

    async def list_studies(
        self, owner: str, *, limit: int, after: Cursor | None
    ) -> tuple[list[Study], Cursor | None]:
        """A page of the owner's studies, newest first, and the cursor of the next page."""
        ...

    async def list_study_points(
        self,
        study_id: str,
        owner: str,
        *,
        after: int,
        limit: int,
        changed_since: datetime | None = None,
    ) -> tuple[list[Job], int | None]:
        """The points after index `after` in index order (only those changed at or after
        `changed_since`, when given), and the last index of the page when more follow."""
        ...

    async def cancel_study(self, study_id: str, owner: str) -> Study: ...

    async def compare_points(
        self, study_id: str, owner: str, a: int, b: int
    ) -> tuple[Job, Job, Comparison]: ...

    # ---- the runner ---------------------------------------------------------------------------

    async def report_state(
        self, job_id: str, state: JobState, reason: str, error: JobError | None
    ) -> Job: ...

    async def list_active_jobs(self, states: Sequence[JobState], study_id: str = "") -> list[Job]:
        """Jobs in `states` (none: every state but the ends); a study's points in index order
        with `study_id`."""
        ...

    # ---- workers ------------------------------------------------------------------------------

    async def admit_worker(self, job_id: str, shard: int, attempt: int) -> Job:
        """The job, when a worker of that shard's launch `attempt` may call for it: the job
        exists (else NOT_FOUND), the shard is one of its own, and `attempt` is the shard's
        highest yet (recorded; a lower one is FAILED_PRECONDITION: that launch was
        superseded)."""
        ...

    async def start_shard(
        self, job_id: str, shard: int, runtime: str = ""
    ) -> tuple[Job, list[int], bool]:
        """(job, the shard's recorded blocks, stop); the first non-empty runtime is recorded."""
        ...

    async def report_blocks(
        self, job_id: str, shard: int, blocks: Sequence[BlockReport]
    ) -> tuple[bool, int]:
        """Records the blocks not recorded yet and advances the prefix over them (deciding
        the stop of a precision run); the answer: whether the shard should stop, and the
        block from which none is needed (0: all are)."""
        ...

    async def finish_shard(self, job_id: str, shard: int) -> tuple[bool, list[bytes], Job]:
        """(finalize, the statistics of the blocks the result merges, in block order, when
        finalize: every block, or [stop.first_block, stop.end_block); job)."""
        ...

    async def complete_job(self, job_id: str, summary: dict[str, Any]) -> Job: ...

    async def fail_job(self, job_id: str, shard: int, error: JobError) -> Job: ...

    async def report_progress(self, job_id: str, shard: int, progress: ScriptProgress) -> bool:
        """Records a script's progress; the answer is whether it should stop."""
        ...

    async def complete_registration(self, job_id: str, inspection: Inspection) -> Job:
        """Registers the inspected code as the next version of its name and ends the job
        SUCCEEDED with {"model", "version"}, in one transaction."""
        ...

    # ---- the model registry (an empty owner: an internal caller, sees every model) -----------

    async def get_model(self, owner: str, name: str, version: int = 0) -> ModelVersion:
        """That version (0: the latest the owner sees); NOT_FOUND when the owner sees none."""
        ...

    async def list_models(self, owner: str) -> list[ModelVersion]:
        """The latest version the owner sees of each model, by name."""
        ...

    async def list_model_versions(self, owner: str, name: str) -> list[ModelVersion]:
        """The versions the owner sees, newest first; NOT_FOUND when none."""
        ...

    async def begin_registration(
        self, registration: Registration, request_id: str
    ) -> Job | ModelVersion:
        """The registration job started (or the one `request_id` already started), or the
        latest version when it has this code already."""
        ...

    async def register_builtin_model(
        self, registration: Registration, inspection: Inspection
    ) -> ModelVersion:
        """The built-in's latest version: a new one only when its code changed."""
        ...

    # ---- presets ------------------------------------------------------------------------------

    async def list_presets(self, owner: str, model: str) -> list[Preset]: ...

    async def save_preset(self, owner: str, preset: Preset) -> Preset: ...

    async def delete_preset(self, owner: str, name: str) -> None: ...

    # ---- share links --------------------------------------------------------------------------

    async def create_share_link(
        self, owner: str, target: ShareTarget, ttl_s: int | None
    ) -> tuple[ShareLink, str]:
        """(link, token), the link to a job or a study expiring `ttl_s` from now (None:
        never): the token exists only in this answer."""
        ...

    async def list_share_links(self, owner: str, target: ShareTarget) -> list[ShareLink]: ...

    async def revoke_share_link(self, owner: str, link_id: str) -> ShareLink:
        """Idempotent: revoking a revoked link keeps its first revocation time."""
        ...

    async def resolve_share_token(self, token: str) -> ShareLink: ...


class Objects(Protocol):
    """The object store, as far as the job store uses it."""

    def iter_chunks(self, key: str, chunk_size: int = ...) -> Iterator[bytes]:
        """Raises KeyError when there is no such object."""
        ...

    def commit_prefix(self, prefix: str, files: Mapping[str, bytes | Path]) -> object:
        """Publishes `files` under `prefix` all at once."""
        ...
