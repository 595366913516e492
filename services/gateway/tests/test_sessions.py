"""Browser sign-in: one-time, expiring login codes; signed session cookies that end with the
token they were opened with."""

from __future__ import annotations

import asyncio

import pytest

from simlab.common.errors import Code, SimlabError
from simlab_gateway.core.auth import Authenticator, Principal
from simlab_gateway.core.sessions import (
    COOKIE,
    LOGIN_CODE_TTL_S,
    SESSION_TTL_S,
    Sessions,
    session_cookie,
)

SECRET = "k" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def refused(call: object) -> str:
    with pytest.raises(SimlabError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == Code.UNAUTHENTICATED
    return caught.value.message


def signed_in(auth: Authenticator, cookie: str, authorization: str | None = None) -> Principal:
    return asyncio.run(auth.principal(authorization, f"theme=dark; {COOKIE}={cookie}"))


def test_a_login_code_opens_a_session_once() -> None:
    sessions = Sessions(SECRET)
    auth = Authenticator({"t1": "alice"}, sessions=sessions)
    code = sessions.login_code("alice", "t1")
    cookie = sessions.redeem(code)
    assert signed_in(auth, cookie) == Principal("alice")
    assert "already used" in refused(lambda: sessions.redeem(code))


def test_a_login_code_expires_after_two_minutes() -> None:
    clock = Clock()
    sessions = Sessions(SECRET, clock)
    in_time, too_late = sessions.login_code("alice", "t1"), sessions.login_code("alice", "t1")
    clock.now += LOGIN_CODE_TTL_S - 1
    sessions.redeem(in_time)
    clock.now += 1
    assert "expired" in refused(lambda: sessions.redeem(too_late))


def test_a_session_lasts_seven_days() -> None:
    clock = Clock()
    sessions = Sessions(SECRET, clock)
    auth = Authenticator({"t1": "alice"}, sessions=sessions)
    cookie = sessions.redeem(sessions.login_code("alice", "t1"))
    clock.now += SESSION_TTL_S - 1
    assert signed_in(auth, cookie) == Principal("alice")
    clock.now += 1
    assert "sign in again" in refused(lambda: signed_in(auth, cookie))


@pytest.mark.parametrize(
    "forge",
    [
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),
        lambda c: "eyJ1IjoiYm9iIn0" + c[c.index(".") :],
        lambda c: c.partition(".")[0],
        lambda c: c + "é",
        lambda c: "",
    ],
)
def test_a_forged_session_is_nobody(forge: object) -> None:
    sessions = Sessions(SECRET)
    auth = Authenticator({"t1": "alice"}, sessions=sessions)
    cookie = sessions.redeem(sessions.login_code("alice", "t1"))
    refused(lambda: signed_in(auth, forge(cookie)))  # type: ignore[operator]


def test_a_session_of_another_secret_or_kind_is_nobody() -> None:
    other = Sessions("o" * 32)
    auth = Authenticator({"t1": "alice"}, sessions=Sessions(SECRET))
    refused(lambda: signed_in(auth, other.redeem(other.login_code("alice", "t1"))))
    # A login code is not a session, nor a session a login code.
    sessions = Sessions(SECRET)
    refused(lambda: signed_in(auth, sessions.login_code("alice", "t1")))
    refused(lambda: sessions.redeem(sessions.redeem(sessions.login_code("alice", "t1"))))


def test_removing_the_token_ends_its_sessions() -> None:
    sessions = Sessions(SECRET)
    cookie = sessions.redeem(sessions.login_code("alice", "t1"))
    assert signed_in(Authenticator({"t1": "alice"}, sessions=sessions), cookie).user == "alice"
    refused(lambda: signed_in(Authenticator({"t2": "alice"}, sessions=sessions), cookie))
    refused(lambda: signed_in(Authenticator({"t1": "bob"}, sessions=sessions), cookie))


def test_the_authorization_header_comes_before_the_cookie() -> None:
    sessions = Sessions(SECRET)
    auth = Authenticator({"t1": "alice", "t2": "bob"}, sessions=sessions)
    cookie = sessions.redeem(sessions.login_code("alice", "t1"))
    assert signed_in(auth, cookie, "Bearer t2") == Principal("bob")
    refused(lambda: signed_in(auth, cookie, "Bearer forged"))


def test_without_a_session_secret_cookies_are_ignored() -> None:
    sessions = Sessions(SECRET)
    cookie = sessions.redeem(sessions.login_code("alice", "t1"))
    refused(lambda: signed_in(Authenticator({"t1": "alice"}), cookie))


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        Sessions("short")


def test_the_cookie_is_found_among_others() -> None:
    assert session_cookie(f"a=1; {COOKIE}=v.x; b=2") == "v.x"
    assert session_cookie(f'{COOKIE}="v.x"') == "v.x"
    assert session_cookie("a=1") is None
    assert session_cookie(None) is None
    assert session_cookie(f"x{COOKIE}=v") is None
