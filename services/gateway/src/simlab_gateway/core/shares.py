"""Use cases on share links: read-only views of one run that its owner hands out."""

from __future__ import annotations

import logging

from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.ports import JobStore

log = logging.getLogger("gateway")


class ShareLinks:
    def __init__(self, store: JobStore) -> None:
        self.store = store

    async def create(
        self, caller: Principal, job_id: str, ttl_seconds: int
    ) -> pb.CreateShareLinkResponse:
        owner = caller.owner_for("CreateShareLink", job_id)
        created = await self.store.create_share_link(owner, job_id, ttl_seconds)
        log.info("share link created", extra={"job_id": job_id, "owner": owner})
        return created

    async def list(self, caller: Principal, job_id: str) -> pb.ListShareLinksResponse:
        return await self.store.list_share_links(caller.owner_for("ListShareLinks", job_id), job_id)

    async def revoke(self, caller: Principal, link_id: str) -> pb.ShareLink:
        return await self.store.revoke_share_link(caller.owner_for("RevokeShareLink"), link_id)
