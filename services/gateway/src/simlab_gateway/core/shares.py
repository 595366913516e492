"""Use cases on share links: read-only views of one run, or of one study and its points, that
their owner hands out (what a link may read: core.auth)."""

from __future__ import annotations

import logging

from simlab.common.errors import invalid
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.ids import check_job_id, check_study_id
from simlab_gateway.core.ports import JobStore

log = logging.getLogger("gateway")


class ShareLinks:
    def __init__(self, store: JobStore) -> None:
        self.store = store

    async def create(
        self, caller: Principal, request: pb.CreateShareLinkRequest
    ) -> pb.CreateShareLinkResponse:
        owner = _owner(caller, "CreateShareLink", request.job_id, request.study_id)
        created = await self.store.create_share_link(owner, request)
        shared = {"study_id": request.study_id} if request.study_id else {"job_id": request.job_id}
        log.info("share link created", extra={**shared, "owner": owner})
        return created

    async def list(
        self, caller: Principal, query: pb.ListShareLinksRequest
    ) -> pb.ListShareLinksResponse:
        owner = _owner(caller, "ListShareLinks", query.job_id, query.study_id)
        return await self.store.list_share_links(owner, query)

    async def revoke(self, caller: Principal, link_id: str) -> pb.ShareLink:
        return await self.store.revoke_share_link(caller.owner_for("RevokeShareLink"), link_id)


def _owner(caller: Principal, method: str, job_id: str, study_id: str) -> str:
    """The owner to ask as about the links of one run or one study (exactly one is named)."""
    if job_id and study_id:
        raise invalid("study_id", "name a run (job_id) or a study (study_id), not both")
    if study_id:
        return caller.owner_for(method, study_id=check_study_id(study_id))
    return caller.owner_for(method, check_job_id(job_id))
