"""What the gateway's use cases need from the outside world; adapters/ implements each port.
Messages are the public API's (simlab.v1), the language the job store already speaks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

from simlab.models.base import Model
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.logs import LogPiece
from simlab_gateway.core.studies import StudyPlan
from simlab_gateway.core.submission import JobPlan

# A model version's schema as simlab.core.params validates it (transport.models reads it
# from the message; its simulate and summarize run on workers only).
SchemaReader = Callable[[pb.Model], Model]


@dataclass(frozen=True)
class Registration:
    """Pushed code, its bundle stored, to be registered as the next version of `name`."""

    name: str
    public: bool
    code_sha256: str
    code_size: int
    entry: str
    files: tuple[str, ...]
    request_id: str


class JobStore(Protocol):
    """The job store, asked as `owner`; its refusals come back as SimlabError."""

    async def create_job(self, owner: str, request_id: str, plan: JobPlan) -> tuple[pb.Job, bool]:
        """The job and whether this call created it (False: an earlier one with the same
        request_id did)."""
        ...

    async def get_job(self, owner: str, job_id: str) -> pb.Job:
        """Owner "": as the platform, which also sees registration jobs."""
        ...

    async def list_jobs(self, owner: str, query: pb.ListJobsRequest) -> pb.ListJobsResponse: ...

    async def cancel_job(self, owner: str, job_id: str) -> pb.Job: ...

    async def progress_history(self, owner: str, job_id: str) -> pb.ProgressHistory: ...

    async def list_presets(self, owner: str, model: str) -> pb.ListPresetsResponse: ...

    async def save_preset(self, owner: str, preset: pb.Preset) -> pb.Preset: ...

    async def delete_preset(self, owner: str, name: str) -> pb.DeletePresetResponse: ...

    async def create_share_link(
        self, owner: str, request: pb.CreateShareLinkRequest
    ) -> pb.CreateShareLinkResponse:
        """A link to the run `request.job_id` or to the study `request.study_id`."""
        ...

    async def list_share_links(
        self, owner: str, query: pb.ListShareLinksRequest
    ) -> pb.ListShareLinksResponse: ...

    async def revoke_share_link(self, owner: str, link_id: str) -> pb.ShareLink: ...

    async def create_study(
        self, owner: str, request_id: str, plan: StudyPlan
    ) -> tuple[pb.Study, bool]:
        """The study and whether this call created it (False: an earlier one with the same
        request_id did); every point is stored in one transaction."""
        ...

    async def get_study(self, owner: str, study_id: str) -> pb.Study: ...

    async def list_studies(
        self, owner: str, query: pb.ListStudiesRequest
    ) -> pb.ListStudiesResponse: ...

    async def list_study_points(
        self, owner: str, query: pb.ListStudyPointsRequest, changed_since: datetime | None = None
    ) -> pb.ListStudyPointsResponse:
        """A page of the study's points in index order; with `changed_since`, only those whose
        run changed at or after it."""
        ...

    async def cancel_study(self, owner: str, study_id: str) -> pb.Study: ...

    async def compare_points(
        self, owner: str, query: pb.ComparePointsRequest
    ) -> pb.ComparePointsResponse: ...

    async def get_model(self, owner: str, name: str, version: int) -> pb.Model:
        """Version `version` of the model (0: the latest); NOT_FOUND when `owner` may not see
        it."""
        ...

    async def list_models(self, owner: str) -> pb.ListModelsResponse: ...

    async def list_model_versions(self, owner: str, name: str) -> pb.ListModelVersionsResponse: ...

    async def begin_registration(self, owner: str, registration: Registration) -> pb.Job | pb.Model:
        """The registration job it started, or the latest version when that has the same
        code (nothing to register). ALREADY_EXISTS when another owner has the name."""
        ...

    async def register_builtin_model(self, model: pb.Model) -> pb.Model:
        """Records a built-in model's code as its latest version (a new one if it changed)."""
        ...


class EventBus(Protocol):
    def subscribe(
        self, job_id: str
    ) -> AbstractAsyncContextManager[AsyncIterator[pb.JobEvent | None]]:
        """The job's events from the moment this returns, and None where events may have been
        lost (the bus reconnected); UNAVAILABLE when the bus is away."""
        ...


class LogStream(Protocol):
    def tail(
        self, job_id: str, shard: int | None, follow: bool, job_ended: Callable[[], bool]
    ) -> AsyncIterator[LogPiece]:
        """The workers' output the stream still holds for the job (or one shard); then, with
        `follow`, each new piece until the output is complete after `job_ended()`."""
        ...


class StoredObject(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def size(self) -> int: ...


class Objects(Protocol):
    """The object store (simlab.adapters.objectstore.ObjectStore): blocking calls, which the
    use cases make in a thread."""

    def list(self, prefix: str) -> Sequence[StoredObject]: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> BinaryIO:
        """Raises KeyError when there is no such object."""
        ...

    def iter_chunks(self, key: str, chunk_size: int = ...) -> Iterator[bytes]:
        """Raises KeyError when there is no such object."""
        ...

    def presigned_url(self, key: str, expires_s: int | None = None) -> str | None:
        """A URL that downloads the object without credentials, or None when the store has
        none to give. Raises KeyError when there is no such object."""
        ...
