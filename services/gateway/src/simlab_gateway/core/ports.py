"""What the gateway's use cases need from the outside world; adapters/ implements each port.
Messages are the public API's (simlab.v1), the language the job store already speaks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import BinaryIO, Protocol

from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.logs import LogPiece
from simlab_gateway.core.submission import JobPlan


class JobStore(Protocol):
    """The job store, asked as `owner`; its refusals come back as SimlabError."""

    async def create_job(self, owner: str, request_id: str, plan: JobPlan) -> tuple[pb.Job, bool]:
        """The job and whether this call created it (False: an earlier one with the same
        request_id did)."""
        ...

    async def get_job(self, owner: str, job_id: str) -> pb.Job: ...

    async def list_jobs(self, owner: str, query: pb.ListJobsRequest) -> pb.ListJobsResponse: ...

    async def cancel_job(self, owner: str, job_id: str) -> pb.Job: ...

    async def progress_history(self, owner: str, job_id: str) -> pb.ProgressHistory: ...

    async def list_presets(self, owner: str, model: str) -> pb.ListPresetsResponse: ...

    async def save_preset(self, owner: str, preset: pb.Preset) -> pb.Preset: ...

    async def delete_preset(self, owner: str, name: str) -> pb.DeletePresetResponse: ...

    async def create_share_link(
        self, owner: str, job_id: str, ttl_seconds: int
    ) -> pb.CreateShareLinkResponse: ...

    async def list_share_links(self, owner: str, job_id: str) -> pb.ListShareLinksResponse: ...

    async def revoke_share_link(self, owner: str, link_id: str) -> pb.ShareLink: ...


class EventBus(Protocol):
    def subscribe(self, job_id: str) -> AbstractAsyncContextManager[AsyncIterator[pb.JobEvent]]:
        """The job's events from the moment this returns; UNAVAILABLE when the bus is away."""
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
