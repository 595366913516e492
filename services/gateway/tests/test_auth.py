import pytest

from simlab.common.errors import Code, SimlabError
from simlab_gateway.core.auth import Authenticator


def test_token_list_is_parsed() -> None:
    assert Authenticator.parse_tokens(" a=alice, b=bob ,") == {"a": "alice", "b": "bob"}


@pytest.mark.parametrize("spec", ["a", "=alice", "a="])
def test_malformed_token_list_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="TOKEN=USER"):
        Authenticator.parse_tokens(spec)


def test_bearer_token_names_the_user() -> None:
    auth = Authenticator({"t1": "alice"})
    assert auth.user("Bearer t1") == "alice"
    assert auth.user("bearer t1") == "alice"


@pytest.mark.parametrize("header", [None, "", "Bearer nope", "Basic t1", "t1"])
def test_without_a_valid_token_nobody_is_signed_in(header: str | None) -> None:
    with pytest.raises(SimlabError) as caught:
        Authenticator({"t1": "alice"}).user(header)
    assert caught.value.code == Code.UNAUTHENTICATED


def test_local_mode_signs_in_the_local_user_but_still_checks_tokens() -> None:
    auth = Authenticator({"t1": "alice"}, local_user="dev")
    assert auth.user(None) == "dev"
    assert auth.user("Bearer t1") == "alice"
    with pytest.raises(SimlabError):
        auth.user("Bearer forged")
