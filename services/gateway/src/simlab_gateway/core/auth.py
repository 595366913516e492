"""Who is calling: a bearer token from the configured token list, a share link's token (a
read-only view of one run, resolved by the job store on every request), or the local user
that `make run` signs in automatically when no token is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from simlab.common.errors import Code, SimlabError
from simlab.common.tokens import is_share_token

# What a share link may do, by RPC name; "download" is GET /files/<job>/<name>, "code" is
# GET /code/jobs/<job>[/<path>]. The model its run used it reads through core.models.
SHARE_LINK_JOB_READS = frozenset(
    {
        "GetJob",
        "WatchJob",
        "ListArtifacts",
        "GetArtifact",
        "GetProgressHistory",
        "TailLogs",
        "download",
        "code",
    }
)

# token -> (owner, job_id); raises UNAUTHENTICATED for an unknown, revoked or expired link.
ShareResolver = Callable[[str], Awaitable[tuple[str, str]]]


@dataclass(frozen=True)
class Principal:
    """Whom a request acts as toward the job store. A share link acts as the run's owner, but
    only to read that one run."""

    user: str
    shared_job: str | None = None

    def owner_for(self, method: str, job_id: str | None = None) -> str:
        """The owner to ask the job store as, for `method` on `job_id` (None: no job)."""
        if self.shared_job is None:
            return self.user
        if method not in SHARE_LINK_JOB_READS:
            raise SimlabError(
                Code.PERMISSION_DENIED,
                f"a share link only gives a read-only view of run {self.shared_job}; "
                f"{method} needs a signed-in user",
            )
        if job_id != self.shared_job:
            raise SimlabError(
                Code.PERMISSION_DENIED, f"this share link is for run {self.shared_job} only"
            )
        return self.user


@dataclass(frozen=True)
class Authenticator:
    # token -> user name
    tokens: dict[str, str]
    # Signed in when a request carries no token (the embedded mode); None requires a token.
    local_user: str | None = None
    # Share tokens are looked up on every request, never cached: a revoked or expired link
    # stops working at once.
    resolve_share: ShareResolver | None = None

    @staticmethod
    def parse_tokens(spec: str) -> dict[str, str]:
        """'tok1=alice,tok2=bob' -> {'tok1': 'alice', 'tok2': 'bob'}."""
        tokens: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            token, sep, user = item.partition("=")
            if not sep or not token or not user:
                raise ValueError(f"token list entry {item!r} is not TOKEN=USER")
            tokens[token] = user
        return tokens

    async def principal(self, authorization: str | None) -> Principal:
        if not authorization:
            if self.local_user:
                return Principal(self.local_user)
            raise SimlabError(Code.UNAUTHENTICATED, "missing bearer token")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and is_share_token(token) and self.resolve_share:
            owner, job_id = await self.resolve_share(token)
            return Principal(owner, shared_job=job_id)
        user = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if user is None:
            raise SimlabError(Code.UNAUTHENTICATED, "invalid bearer token")
        return Principal(user)
