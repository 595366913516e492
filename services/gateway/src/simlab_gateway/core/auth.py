"""Who is calling: a bearer token from the configured token list, a share link's token (a
read-only view of one run, resolved by the job store on every request), or a browser's
session cookie (core.sessions). A request with none of them is nobody's."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from simlab.common.errors import Code, SimlabError
from simlab.common.tokens import is_share_token
from simlab_gateway.core.sessions import Sessions, session_cookie

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


class Authenticator:
    """Names the caller of a request: its Authorization header first (a configured token or
    a share link's), then its browser session cookie. Nobody is signed in without one."""

    def __init__(
        self,
        tokens: Mapping[str, str],
        resolve_share: ShareResolver | None = None,
        sessions: Sessions | None = None,
    ) -> None:
        # Digests, so that every lookup compares equal-length values in constant time.
        self._tokens = [(_digest(token), user) for token, user in tokens.items()]
        # Share tokens are looked up on every request, never cached: a revoked or expired
        # link stops working at once.
        self.resolve_share = resolve_share
        # None: browser sign-in is off (no session secret).
        self.sessions = sessions
        self._session_tokens = (
            {sessions.fingerprint(token): user for token, user in tokens.items()}
            if sessions
            else {}
        )

    @staticmethod
    def parse_tokens(spec: str) -> dict[str, str]:
        """'tok1=alice,tok2=bob' -> {'tok1': 'alice', 'tok2': 'bob'}. Split at the last '=':
        base64 tokens end in '=' padding, user names have none."""
        tokens: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            token, sep, user = item.rpartition("=")
            if not sep or not token or not user:
                raise ValueError(f"token list entry {_redacted(item)!r} is not TOKEN=USER")
            if token in tokens:
                raise ValueError(f"a token appears twice (for {tokens[token]} and {user})")
            tokens[token] = user
        return tokens

    def user_of_token(self, token: str) -> str | None:
        """The user of a configured token, compared with every one in constant time."""
        presented = _digest(token)
        found = None
        for digest, user in self._tokens:
            if hmac.compare_digest(digest, presented):
                found = user
        return found

    async def principal(self, authorization: str | None, cookie: str | None = None) -> Principal:
        """`authorization`: the Authorization header; `cookie`: the Cookie header."""
        if authorization:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise SimlabError(
                    Code.UNAUTHENTICATED, "the Authorization header is not `Bearer <token>`"
                )
            if is_share_token(token) and self.resolve_share:
                owner, job_id = await self.resolve_share(token)
                return Principal(owner, shared_job=job_id)
            user = self.user_of_token(token)
            if user is None:
                raise SimlabError(Code.UNAUTHENTICATED, "invalid bearer token")
            return Principal(user)
        value = session_cookie(cookie)
        if value is not None and self.sessions is not None:
            session = self.sessions.session(value)
            if session and self._session_tokens.get(session.token_id) == session.user:
                return Principal(session.user)
            raise SimlabError(
                Code.UNAUTHENTICATED,
                "the browser session ended: sign in again (`simlab login --web`)",
            )
        raise SimlabError(
            Code.UNAUTHENTICATED,
            "missing bearer token (set SIMLAB_TOKEN, or sign the browser in with "
            "`simlab login --web`)",
        )

    async def principal_of(self, headers: Mapping[str, str]) -> Principal:
        """The caller of a request with these (lower-case) headers."""
        return await self.principal(headers.get("authorization"), headers.get("cookie"))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


def _redacted(entry: str) -> str:
    """A token list entry fit for an error message: the user, never the token."""
    token, _, user = entry.rpartition("=")
    return f"…={user}" if token else "…"
