import asyncio

import pytest

from simlab.common.errors import Code, SimlabError
from simlab.common.tokens import SHARE_TOKEN_PREFIX
from simlab_gateway.core.auth import Authenticator, Principal

SHARE = SHARE_TOKEN_PREFIX + "abc"


def principal(auth: Authenticator, header: str | None) -> Principal:
    return asyncio.run(auth.principal(header))


async def resolve(token: str) -> tuple[str, str]:
    if token != SHARE:
        raise SimlabError(Code.UNAUTHENTICATED, "unknown share link")
    return "alice", "job1"


def refused(call: object, code: Code) -> str:
    with pytest.raises(SimlabError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == code
    return caught.value.message


def test_token_list_is_parsed() -> None:
    assert Authenticator.parse_tokens(" a=alice, b=bob ,") == {"a": "alice", "b": "bob"}


@pytest.mark.parametrize("spec", ["a", "=alice", "a="])
def test_malformed_token_list_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="TOKEN=USER"):
        Authenticator.parse_tokens(spec)


def test_bearer_token_names_the_user() -> None:
    auth = Authenticator({"t1": "alice"})
    assert principal(auth, "Bearer t1") == Principal("alice")
    assert principal(auth, "bearer t1") == Principal("alice")


@pytest.mark.parametrize("header", [None, "", "Bearer nope", "Basic t1", "t1", f"Bearer {SHARE}"])
def test_without_a_valid_token_nobody_is_signed_in(header: str | None) -> None:
    refused(lambda: principal(Authenticator({"t1": "alice"}), header), Code.UNAUTHENTICATED)


def test_local_mode_signs_in_the_local_user_but_still_checks_tokens() -> None:
    auth = Authenticator({"t1": "alice"}, local_user="dev")
    assert principal(auth, None) == Principal("dev")
    assert principal(auth, "Bearer t1") == Principal("alice")
    refused(lambda: principal(auth, "Bearer forged"), Code.UNAUTHENTICATED)


def test_a_share_token_is_resolved_into_a_view_of_one_run() -> None:
    auth = Authenticator({}, local_user="dev", resolve_share=resolve)
    assert principal(auth, f"Bearer {SHARE}") == Principal("alice", shared_job="job1")
    refused(lambda: principal(auth, f"Bearer {SHARE}x"), Code.UNAUTHENTICATED)


def test_a_share_link_reads_its_run_as_the_owner_and_nothing_else() -> None:
    shared = Principal("alice", shared_job="job1")
    for method in ("GetJob", "WatchJob", "GetArtifact", "TailLogs", "download", "code"):
        assert shared.owner_for(method, "job1") == "alice"
    assert "for run job1 only" in refused(
        lambda: shared.owner_for("GetJob", "job2"), Code.PERMISSION_DENIED
    )
    for method in ("ListJobs", "SubmitJob", "CancelJob", "SavePreset", "PushModel", "ListModels"):
        message = refused(lambda m=method: shared.owner_for(m, "job1"), Code.PERMISSION_DENIED)
        assert f"{method} needs a signed-in user" in message


def test_a_signed_in_user_acts_as_themselves() -> None:
    assert Principal("bob").owner_for("CancelJob", "job1") == "bob"
