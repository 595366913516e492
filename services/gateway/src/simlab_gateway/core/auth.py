"""Who is calling: a bearer token from the configured token list, a share link's token (a
read-only view of one run, or of one study and its points, resolved by the job store on every
request), or a browser's session cookie (core.sessions). A request with none of them is
nobody's."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from simlab.common.errors import Code, SimlabError
from simlab.common.tokens import is_share_token
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.sessions import Sessions, session_cookie

# What a share link may do with the run it shows (a study's link: with each run of its
# points), by RPC name; "download" is GET /files/<job>/<name>, "code" is
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
# What a study's share link may do with its study; "download" is GET /studies/<study>/study.csv.
SHARE_LINK_STUDY_READS = frozenset(
    {"GetStudy", "ListStudyPoints", "WatchStudy", "ComparePoints", "download"}
)


@dataclass(frozen=True)
class Principal:
    """Whom a request acts as toward the job store. A share link acts as its owner, but only to
    read the run it shows (`shared_job`), or the study and its points' runs (`shared_study`)."""

    user: str
    shared_job: str | None = None
    shared_study: str | None = None

    @property
    def shared(self) -> bool:
        return self.shared_job is not None or self.shared_study is not None

    def owner_for(
        self, method: str, job_id: str | None = None, *, study_id: str | None = None
    ) -> str:
        """The owner to ask the job store as, for `method` on `job_id` or `study_id` (neither:
        on nothing in particular). A study's link reaches a run through `owner_for_job` only,
        which checks that the run is one of the study's points."""
        if not self.shared:
            return self.user
        if self.shared_job is not None:
            self._may(method, SHARE_LINK_JOB_READS, f"run {self.shared_job}")
            if job_id != self.shared_job or study_id is not None:
                raise SimlabError(
                    Code.PERMISSION_DENIED, f"this share link is for run {self.shared_job} only"
                )
            return self.user
        self._may(
            method, SHARE_LINK_STUDY_READS | SHARE_LINK_JOB_READS, f"study {self.shared_study}"
        )
        if method not in SHARE_LINK_STUDY_READS or study_id != self.shared_study or job_id:
            raise self._study_only()
        return self.user

    async def owner_for_job(
        self, method: str, job_id: str, read_job: Callable[[str, str], Awaitable[pb.Job]]
    ) -> str:
        """`owner_for` on job `job_id`. A study's share link reads the job first (with
        `read_job(owner, job_id)`, as the study's owner): it may read the runs of the study's
        points, and no other."""
        if self.shared_study is None:
            return self.owner_for(method, job_id)
        self._may(method, SHARE_LINK_JOB_READS, f"study {self.shared_study}")
        try:
            job = await read_job(self.user, job_id)
        except SimlabError as error:
            # Whether the owner has such a run is not the viewer's to learn.
            if error.code is Code.NOT_FOUND:
                raise self._study_only() from None
            raise
        if job.study_id != self.shared_study:
            raise self._study_only()
        return self.user

    def _study_only(self) -> SimlabError:
        return SimlabError(
            Code.PERMISSION_DENIED,
            f"this share link is for study {self.shared_study} and its points only",
        )

    def _may(self, method: str, allowed: frozenset[str], view: str) -> None:
        if method not in allowed:
            raise SimlabError(
                Code.PERMISSION_DENIED,
                f"a share link only gives a read-only view of {view}; "
                f"{method} needs a signed-in user",
            )


# token -> whom it acts as; raises UNAUTHENTICATED for an unknown, revoked or expired link.
ShareResolver = Callable[[str], Awaitable[Principal]]


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
                return await self.resolve_share(token)
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
