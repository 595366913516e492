"""Browser sign-in: a bearer of a configured token asks for a one-time login link; the
browser that opens it gets a session cookie. Both are signed with the gateway's session
secret, so any gateway process of a deployment checks them without shared storage; a link
is redeemed once per gateway process.

A session names its user and a keyed fingerprint of the token the link was asked with: the
authenticator accepts it only while that token is still configured for that user, so
removing a token also ends the browser sessions it opened."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from simlab.common.errors import Code, SimlabError

COOKIE = "simlab_session"
LOGIN_CODE_TTL_S = 120
SESSION_TTL_S = 7 * 24 * 3600
# The shortest session secret accepted (characters): a guessable key would let anyone forge
# a session for any user.
MIN_SECRET_CHARS = 32


@dataclass(frozen=True)
class Session:
    user: str
    # Fingerprint of the token the session was opened with (Sessions.fingerprint).
    token_id: str


class Sessions:
    def __init__(self, secret: str, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"the session secret needs at least {MIN_SECRET_CHARS} characters")
        self._key = secret.encode()
        self._clock = clock
        # Redeemed login codes (nonce -> expiry), kept until they expire anyway.
        self._redeemed: dict[str, float] = {}

    def fingerprint(self, token: str) -> str:
        """Names a token inside cookies without revealing it (keyed: a weak token cannot be
        guessed offline from a cookie)."""
        return self._mac(b"token", token.encode())[:32]

    def login_code(self, user: str, token: str) -> str:
        """A code for GET /auth/login?code=, valid LOGIN_CODE_TTL_S seconds, once."""
        return self._sign(
            "login",
            {
                "u": user,
                "t": self.fingerprint(token),
                "e": int(self._clock()) + LOGIN_CODE_TTL_S,
                "n": secrets.token_urlsafe(12),
            },
        )

    def redeem(self, code: str) -> str:
        """The session cookie's value for a genuine, unexpired, unused login code."""
        payload = self._verify("login", code)
        nonce = str(payload["n"])
        now = self._clock()
        self._redeemed = {n: e for n, e in self._redeemed.items() if e > now}
        if nonce in self._redeemed:
            raise SimlabError(
                Code.UNAUTHENTICATED, "this sign-in link was already used: ask for a new one"
            )
        self._redeemed[nonce] = float(payload["e"])  # type: ignore[arg-type]
        return self._sign(
            "session", {"u": payload["u"], "t": payload["t"], "e": int(now) + SESSION_TTL_S}
        )

    def session(self, cookie_value: str) -> Session | None:
        """Who a session cookie names, or None when it is forged or expired."""
        try:
            payload = self._verify("session", cookie_value)
        except SimlabError:
            return None
        return Session(str(payload["u"]), str(payload["t"]))

    def _sign(self, kind: str, payload: dict[str, object]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac(kind.encode(), body.encode())}"

    def _verify(self, kind: str, signed: str) -> dict[str, object]:
        """The payload of a value signed for `kind` that has not expired."""
        body, _, mac = signed.partition(".")
        expected = self._mac(kind.encode(), body.encode()).encode()
        if not hmac.compare_digest(expected, mac.encode("utf-8", "replace")):
            raise SimlabError(
                Code.UNAUTHENTICATED, f"this {_WHAT[kind]} is not valid: {_AGAIN[kind]}"
            )
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if not payload["e"] > self._clock():
            raise SimlabError(
                Code.UNAUTHENTICATED, f"this {_WHAT[kind]} has expired: {_AGAIN[kind]}"
            )
        return dict(payload)

    def _mac(self, kind: bytes, message: bytes) -> str:
        return _b64(hmac.new(self._key, kind + b"\0" + message, hashlib.sha256).digest())


_WHAT = {"login": "sign-in link", "session": "session"}
_AGAIN = {"login": "ask for a new one", "session": "sign in again"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def session_cookie(cookie_header: str | None) -> str | None:
    """The simlab_session value of a Cookie header (RFC 6265: `a=1; b=2`)."""
    for pair in (cookie_header or "").split(";"):
        name, sep, value = pair.strip().partition("=")
        if sep and name == COOKIE and value:
            return value.strip('"')
    return None
