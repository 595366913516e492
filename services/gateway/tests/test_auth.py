import asyncio

import pytest

from simlab.common.errors import Code, SimlabError
from simlab.common.tokens import SHARE_TOKEN_PREFIX
from simlab_gateway.core.auth import Authenticator, Principal
from simlab_gateway.core.sessions import Sessions

SHARE = SHARE_TOKEN_PREFIX + "abc"


def principal(auth: Authenticator, header: str | None) -> Principal:
    return asyncio.run(auth.principal(header))


async def resolve(token: str) -> Principal:
    if token != SHARE:
        raise SimlabError(Code.UNAUTHENTICATED, "unknown share link")
    return Principal("alice", shared_job="job1")


def refused(call: object, code: Code) -> str:
    with pytest.raises(SimlabError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == code
    return caught.value.message


def test_token_list_is_parsed() -> None:
    assert Authenticator.parse_tokens(" a=alice, b=bob ,") == {"a": "alice", "b": "bob"}


def test_a_token_ending_in_equals_signs_maps_to_its_user() -> None:
    # base64 padding: split at the last '=', not the first.
    assert Authenticator.parse_tokens("YWJjZA===alice,eHk==bob") == {
        "YWJjZA==": "alice",
        "eHk=": "bob",
    }
    auth = Authenticator(Authenticator.parse_tokens("YWJjZA===alice"))
    assert principal(auth, "Bearer YWJjZA==") == Principal("alice")
    refused(lambda: principal(auth, "Bearer YWJjZA"), Code.UNAUTHENTICATED)


@pytest.mark.parametrize("spec", ["a", "=alice", "a=", "secret-token"])
def test_malformed_token_list_is_refused_without_showing_the_token(spec: str) -> None:
    with pytest.raises(ValueError, match="TOKEN=USER") as caught:
        Authenticator.parse_tokens(spec)
    assert "secret" not in str(caught.value)


def test_a_token_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="a token appears twice"):
        Authenticator.parse_tokens("t=alice,t=bob")


def test_every_configured_token_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[tuple[bytes, bytes]] = []

    def compare(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr("simlab_gateway.core.auth.hmac.compare_digest", compare)
    auth = Authenticator({"t1": "alice", "t2": "bob", "t3": "carol"})
    assert auth.user_of_token("t1") == "alice"
    # Every token compared, not only up to the match; equal-length digests, never the tokens.
    assert len(compared) == 3
    assert all(len(a) == len(b) == 32 for a, b in compared)


def test_bearer_token_names_the_user() -> None:
    auth = Authenticator({"t1": "alice"})
    assert principal(auth, "Bearer t1") == Principal("alice")
    assert principal(auth, "bearer t1") == Principal("alice")


@pytest.mark.parametrize("header", [None, "", "Bearer nope", "Basic t1", "t1", f"Bearer {SHARE}"])
def test_without_a_valid_token_nobody_is_signed_in(header: str | None) -> None:
    refused(lambda: principal(Authenticator({"t1": "alice"}), header), Code.UNAUTHENTICATED)


def test_without_a_token_nobody_is_signed_in_even_locally() -> None:
    auth = Authenticator({"t1": "alice"}, sessions=Sessions("s" * 32))
    message = refused(lambda: principal(auth, None), Code.UNAUTHENTICATED)
    assert "simlab login --web" in message


def test_a_share_token_is_resolved_into_a_view_of_one_run() -> None:
    auth = Authenticator({}, resolve_share=resolve)
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


def test_a_study_share_link_reads_its_study_as_the_owner_and_its_runs_through_the_job() -> None:
    shared = Principal("alice", shared_study="study1")
    for method in ("GetStudy", "ListStudyPoints", "WatchStudy", "ComparePoints", "download"):
        assert shared.owner_for(method, study_id="study1") == "alice"
    assert "for study study1 and its points only" in refused(
        lambda: shared.owner_for("GetStudy", study_id="study2"), Code.PERMISSION_DENIED
    )
    # A run is read only once it is known to be a point of the study (owner_for_job).
    refused(lambda: shared.owner_for("GetJob", "job1"), Code.PERMISSION_DENIED)
    refused(lambda: shared.owner_for("download", "job1"), Code.PERMISSION_DENIED)
    for method in ("CancelStudy", "SubmitStudy", "ListStudies", "CreateShareLink"):
        message = refused(
            lambda m=method: shared.owner_for(m, study_id="study1"), Code.PERMISSION_DENIED
        )
        assert f"{method} needs a signed-in user" in message


def test_a_run_share_link_reads_no_study() -> None:
    shared = Principal("alice", shared_job="job1")
    refused(lambda: shared.owner_for("GetStudy", study_id="study1"), Code.PERMISSION_DENIED)
