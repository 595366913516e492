"""Use cases on a job's artifacts: listing them, reading one over the API, and downloading
one over plain HTTP, where a link cannot carry the API's framing. Each first asks the job
store for the job, so a caller sees only the artifacts of runs it may read; a cache hit's are
read under the run it reused (core.artifacts.files_job)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO

from simlab.common.errors import Code, SimlabError, not_found
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.artifacts import CHUNK, artifact_key, content_type, files_job, job_prefix
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.ids import check_job_id
from simlab_gateway.core.ports import JobStore, Objects


@dataclass(frozen=True)
class Redirect:
    """Fetch the bytes from the object store itself: `url` is short-lived and presigned."""

    url: str


@dataclass(frozen=True)
class Stream:
    """Serve the bytes from here; the receiver closes `handle`."""

    handle: BinaryIO
    size: int
    content_type: str
    filename: str


class Artifacts:
    def __init__(self, store: JobStore, objects: Objects, redirect_downloads: bool) -> None:
        self.store = store
        self.objects = objects
        # Off: every download streams through the gateway, even from a store that presigns.
        self.redirect_downloads = redirect_downloads

    async def list(self, caller: Principal, job_id: str) -> pb.ListArtifactsResponse:
        prefix = job_prefix(await self._files_of(caller, "ListArtifacts", check_job_id(job_id)))
        found = await asyncio.to_thread(self.objects.list, prefix)
        return pb.ListArtifactsResponse(
            artifacts=[
                pb.Artifact(
                    name=o.key.removeprefix(prefix), size=o.size, content_type=content_type(o.key)
                )
                for o in found
            ]
        )

    async def read(
        self, caller: Principal, job_id: str, name: str
    ) -> AsyncIterator[pb.ArtifactChunk]:
        """The artifact in chunks, the first with its metadata (an empty one: only that)."""
        artifact_key(check_job_id(job_id), name)  # a name no artifact has: refused at once
        key = artifact_key(await self._files_of(caller, "GetArtifact", job_id), name)
        size = await self._size(key)
        if size is None:
            raise not_found(f"artifact {name!r} of job {job_id}")
        artifact = pb.Artifact(name=name, size=size, content_type=content_type(key))
        chunks = self.objects.iter_chunks(key, CHUNK)
        first = True
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield pb.ArtifactChunk(artifact=artifact if first else None, data=chunk)
            first = False
        if first:
            yield pb.ArtifactChunk(artifact=artifact)

    async def download(
        self, caller: Principal, job_id: str, name: str, may_redirect: bool
    ) -> Redirect | Stream:
        """A redirect when the caller `may_redirect`, downloads are redirected and the store
        presigns URLs (S3); otherwise the open artifact, to stream."""
        artifact_key(check_job_id(job_id), name)  # a name no artifact has: refused at once
        key = artifact_key(await self._files_of(caller, "download", job_id), name)
        try:
            if self.redirect_downloads and may_redirect:
                url = await asyncio.to_thread(self.objects.presigned_url, key)
                if url is not None:
                    return Redirect(url)
            size = await self._size(key)
            if size is None:
                raise KeyError(key)
            handle = await asyncio.to_thread(self.objects.open, key)
        except KeyError:
            raise SimlabError(Code.NOT_FOUND, "no such artifact") from None
        return Stream(handle, size, content_type(key), filename=name.rsplit("/", 1)[-1])

    async def _files_of(self, caller: Principal, method: str, job_id: str) -> str:
        """The run whose files are job `job_id`'s, once the caller may read that job."""
        owner = await caller.owner_for_job(method, job_id, self.store.get_job)
        return files_job(await self.store.get_job(owner, job_id))

    async def _size(self, key: str) -> int | None:
        """Known by listing: an S3 object streams, it cannot seek to its end."""
        found = await asyncio.to_thread(self.objects.list, key)
        return next((o.size for o in found if o.key == key), None)
