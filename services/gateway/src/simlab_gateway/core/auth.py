"""Who is calling: a bearer token from the configured token list, or the local user that
`make run` signs in automatically when no token is sent."""

from __future__ import annotations

from dataclasses import dataclass

from simlab.common.errors import Code, SimlabError


@dataclass(frozen=True)
class Authenticator:
    # token -> user name
    tokens: dict[str, str]
    # Signed in when a request carries no token (the embedded mode); None requires a token.
    local_user: str | None = None

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

    def user(self, authorization: str | None) -> str:
        if not authorization:
            if self.local_user:
                return self.local_user
            raise SimlabError(Code.UNAUTHENTICATED, "missing bearer token")
        scheme, _, token = authorization.partition(" ")
        user = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise SimlabError(Code.UNAUTHENTICATED, "invalid bearer token")
        return user
