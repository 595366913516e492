"""Downloads of code over plain HTTP: the exact code a run ran, or a model version's, as its
bundle (a tar) or one file of it. Allowed as the run or the version may be read: a share link
gets its run's code."""

from __future__ import annotations

import io

from simlab.common.errors import Code, SimlabError, not_found
from simlab_gateway.core.artifacts import content_type
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.bundles import BundleStore
from simlab_gateway.core.downloads import Stream
from simlab_gateway.core.ids import check_job_id
from simlab_gateway.core.models import Models
from simlab_gateway.core.ports import JobStore


class CodeDownloads:
    def __init__(self, store: JobStore, bundles: BundleStore, models: Models) -> None:
        self.store = store
        self.bundles = bundles
        self.models = models

    async def of_job(self, caller: Principal, job_id: str, path: str) -> Stream:
        owner = await caller.owner_for_job("code", check_job_id(job_id), self.store.get_job)
        job = await self.store.get_job(owner, job_id)
        if not job.code_sha256:
            raise SimlabError(Code.NOT_FOUND, f"run {job_id} ran before code was recorded")
        return await self._serve(job.code_sha256, f"{job.model}@v{job.model_version}", path)

    async def of_model(self, caller: Principal, ref: str, path: str) -> Stream:
        """`ref`: "name@vN" (or "name": the latest version)."""
        model = await self.models.get(caller, ref)
        return await self._serve(model.code_sha256, f"{model.name}@v{model.version}", path)

    async def _serve(self, sha256: str, label: str, path: str) -> Stream:
        """The bundle (no `path`) or its file `path`."""
        size = await self.bundles.size(sha256)
        if size is None:
            raise not_found(f"the code of {label}")
        if not path:
            handle = await self.bundles.open(sha256)
            return Stream(handle, size, "application/x-tar", f"{label}.tar")
        bundle = await self.bundles.read(sha256)
        data = bundle.files.get(path)
        if data is None:
            raise not_found(f"file {path!r} of {label}")
        # Source shows in the browser rather than downloading as bytes.
        kind = "text/plain; charset=utf-8" if path.endswith(".py") else content_type(path)
        return Stream(io.BytesIO(data), len(data), kind, path.rsplit("/", 1)[-1])
