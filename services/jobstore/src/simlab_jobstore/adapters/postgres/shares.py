"""Share links: the row keeps the token's hash, never the token."""

from __future__ import annotations

from simlab.common.errors import Code, SimlabError, not_found

from ...core.quotas import Quotas
from ...core.shares import ShareLink, ShareTarget, new_share_link, new_token, token_hash
from .rows import SHARE_COLUMNS
from .session import Database, Session, now


class Shares:
    db: Database
    quotas: Quotas

    async def create_share_link(
        self, owner: str, target: ShareTarget, ttl_s: int | None
    ) -> tuple[ShareLink, str]:
        """(link, token): the token exists only in this answer; the row keeps its hash."""
        link = new_share_link(owner, target, ttl_s, now())
        token = new_token()
        async with self.db.transaction() as db:
            await _find_target(db, target, owner)
            # One creator per owner at a time: the count below stays true until the insert.
            await db.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", ("share_links:" + owner,)
            )
            live = await db.count(
                "SELECT count(*) FROM share_links WHERE owner = %s AND revoked_at IS NULL"
                " AND (expires_at IS NULL OR expires_at > %s)",
                (owner, link.created_at),
            )
            self.quotas.check_share_links(live)
            await db.conn.execute(
                "INSERT INTO share_links (link_id, token_sha256, owner, job_id, study_id,"
                " created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    link.link_id,
                    token_hash(token),
                    owner,
                    target.job_id or None,
                    target.study_id or None,
                    link.created_at,
                    link.expires_at,
                ),
            )
        return link, token

    async def list_share_links(self, owner: str, target: ShareTarget) -> list[ShareLink]:
        column = "study_id" if target.study_id else "job_id"
        async with self.db.session() as db:
            await _find_target(db, target, owner)
            rows = await db.fetch_all(
                f"SELECT {SHARE_COLUMNS} FROM share_links WHERE {column} = %s AND owner = %s"
                " ORDER BY created_at DESC, link_id",
                (target.study_id or target.job_id, owner),
            )
        return [ShareLink(**row) for row in rows]

    async def revoke_share_link(self, owner: str, link_id: str) -> ShareLink:
        """Idempotent: revoking a revoked link keeps its first revocation time."""
        async with self.db.session() as db:
            row = await db.fetch_one(
                "UPDATE share_links SET revoked_at = coalesce(revoked_at, %s)"
                f" WHERE link_id = %s AND owner = %s RETURNING {SHARE_COLUMNS}",
                (now(), link_id, owner),
            )
        if row is None:
            raise not_found(f"share link {link_id}")
        return ShareLink(**row)

    async def resolve_share_token(self, token: str) -> ShareLink:
        async with self.db.session() as db:
            row = await db.fetch_one(
                f"SELECT {SHARE_COLUMNS} FROM share_links WHERE token_sha256 = %s",
                (token_hash(token),),
            )
        if row is None:
            raise SimlabError(Code.UNAUTHENTICATED, "unknown share link")
        link = ShareLink(**row)
        link.check_usable(now())
        return link


async def _find_target(db: Session, target: ShareTarget, owner: str) -> None:
    """NOT_FOUND unless the owner has the job or study the link is for."""
    if target.study_id:
        await db.find_study(target.study_id, owner)
    else:
        await db.find_job(target.job_id, owner)
