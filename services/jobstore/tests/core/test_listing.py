from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from simlab.common.errors import Code, SimlabError
from simlab_jobstore.core.listing import (
    Cursor,
    decode_index_token,
    decode_page_token,
    encode_index_token,
    encode_page_token,
    job_id_prefix,
    page_size,
)


def test_a_page_token_round_trips_to_the_microsecond() -> None:
    cursor = Cursor(datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC), "abc123")
    assert decode_page_token(encode_page_token(cursor)) == cursor


def test_no_token_means_the_first_page() -> None:
    assert decode_page_token("") is None


@pytest.mark.parametrize("token", ["nope", "!!!", "WzEsMl0", "eyJhIjoxfQ"])
def test_a_bad_token_is_invalid_and_named(token: str) -> None:
    with pytest.raises(SimlabError) as refused:
        decode_page_token(token)
    assert refused.value.code is Code.INVALID_ARGUMENT
    assert refused.value.message.startswith("page_token")


def test_page_size_defaults_and_caps() -> None:
    assert (page_size(0), page_size(7), page_size(10_000)) == (50, 7, 500)
    with pytest.raises(SimlabError, match="page_size"):
        page_size(-1)
    # A study's points come in larger pages.
    assert (page_size(0, 1000, 10_000), page_size(20_000, 1000, 10_000)) == (1000, 10_000)


def test_a_points_page_token_holds_the_last_index_sent() -> None:
    assert decode_index_token("") == -1
    assert decode_index_token(encode_index_token(0)) == 0
    assert decode_index_token(encode_index_token(9_999)) == 9_999
    for token in (encode_page_token(Cursor(datetime(2026, 1, 1, tzinfo=UTC), "ab")), "nope"):
        with pytest.raises(SimlabError) as caught:
            decode_index_token(token)
        assert caught.value.field == "page_token"
    for raw in (b"[-1]", b"[true]", b"[1.5]", b"[2147483648]", b"[" * 100_000):
        with pytest.raises(SimlabError):
            decode_index_token(base64.urlsafe_b64encode(raw).decode())


def test_a_job_id_prefix_as_pasted() -> None:
    assert job_id_prefix("") == ""
    assert job_id_prefix("  8671F83D ") == "8671f83d"
    assert job_id_prefix("8671f83d5afc41ed") == "8671f83d5afc41ed"


@pytest.mark.parametrize("prefix", ["8671f83d5afc41ed0", "86_1", "abc%", "xyz", "a b"])
def test_a_prefix_that_cannot_start_a_job_id_is_invalid_and_named(prefix: str) -> None:
    with pytest.raises(SimlabError, match="job_id_prefix: must be up to 16 hex digits"):
        job_id_prefix(prefix)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        b'[1e400, "x"]',
        b'[1, "x", 3]',
        b"\0\0\0",
        b'[1, "\\u0000"]',
        b'[1, "' + b"a" * 100 + b'"]',
        b'[99999999999999999999999, "ab"]',
    ],
)
def test_a_page_token_of_any_shape_is_invalid_page_token(raw: bytes) -> None:
    token = base64.urlsafe_b64encode(raw).decode()
    with pytest.raises(SimlabError) as caught:
        decode_page_token(token)
    assert caught.value.code is Code.INVALID_ARGUMENT and caught.value.field == "page_token"


def test_a_huge_page_token_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(SimlabError) as caught:
        decode_page_token("A" * 10_000_000)
    assert caught.value.field == "page_token"
