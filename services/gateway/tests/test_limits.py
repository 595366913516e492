"""Request limits in front of the API (transport/limits.py): strangers are refused before their
bodies are read, bodies and what they decompress to are capped per method, and a body that is
not the method's message is INVALID_ARGUMENT."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest
from connectrpc.errors import ConnectError

from services.gateway.tests.fakes import FakeJobStore, asgi_post, fake_api
from simlab_gateway.transport.limits import READ_MAX_BYTES, BoundedGzip

LIMIT = 2 * 1024 * 1024


def api(store: FakeJobStore | None = None) -> Any:
    return fake_api(store or FakeJobStore(), LIMIT)


def zeros_gzipped(size: int) -> bytes:
    """`size` zero bytes, gzipped in one pass without holding them (1/1000 of the size)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.flush()


def call(
    method: str,
    body: bytes,
    headers: dict[str, str],
    chunk: int = 65536,
    app: Any = None,
    http_version: str = "1.1",
) -> tuple[int, dict[str, Any], int]:
    """A Connect unary POST; returns the status, the JSON error body and how many body bytes
    the application read."""
    answer = asgi_post(app or api(), method, body, headers, chunk, http_version)
    return answer.status, json.loads(answer.body or b"{}"), answer.read


JSON = {"content-type": "application/json", "content-encoding": "gzip"}


def test_a_wrong_token_is_refused_before_the_body_is_read() -> None:
    bomb = zeros_gzipped(64 * 1024 * 1024)
    status, error, read = call("ListModels", bomb, JSON | {"authorization": "Bearer wrong"})
    assert (status, error["code"]) == (401, "unauthenticated")
    assert read == 0


def test_over_http2_a_refused_body_is_read_and_dropped_before_the_answer() -> None:
    """hypercorn drops the whole HTTP/2 connection when a stream's data arrives after its
    answer: the refused body is drained, kept nowhere, never inflated."""
    bomb = zeros_gzipped(64 * 1024 * 1024)
    headers = JSON | {"authorization": "Bearer wrong"}
    status, error, read = call("ListModels", bomb, headers, http_version="2")
    assert (status, error["code"], read) == (401, "unauthenticated", len(bomb))


def test_no_token_and_no_local_user_is_refused_before_the_body_is_read() -> None:
    status, error, read = call("SubmitJob", zeros_gzipped(8 * 1024 * 1024), JSON)
    assert (status, error["code"], read) == (401, "unauthenticated", 0)


def test_a_gzip_bomb_from_a_signed_in_caller_stops_at_the_read_limit() -> None:
    bomb = zeros_gzipped(64 * 1024 * 1024)
    status, error, _ = call("ListModels", bomb, JSON | {"authorization": "Bearer alice-token"})
    assert (status, error["code"]) == (429, "resource_exhausted")
    assert str(READ_MAX_BYTES) in error["message"]


@pytest.mark.parametrize("method", ["GetJob", "SubmitJob", "ExtendJob"])
def test_a_body_declared_too_large_is_refused_unread(method: str) -> None:
    headers = {"content-type": "application/json", "authorization": "Bearer alice-token"}
    body = b" " * (READ_MAX_BYTES + 1024 * 1024)
    status, error, read = call(method, body, headers | {"content-length": str(len(body))})
    assert (status, error["code"], read) == (429, "resource_exhausted", 0)
    # Without a length, reading stops at the limit.
    status, error, read = call(method, body, headers)
    assert (status, error["code"]) == (429, "resource_exhausted")
    assert read < len(body)


@pytest.mark.parametrize(
    ("token", "http_version", "closes"),
    [("nobody", "1.1", True), ("alice-token", "1.1", False), ("nobody", "2", False)],
)
def test_over_http1_an_answer_before_the_body_was_read_closes_the_connection(
    token: str, http_version: str, closes: bool
) -> None:
    """Else the unread rest of the body waits as the connection's next request, and the
    client's next call on it hangs (over HTTP/2 the body is drained instead)."""
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    body = b'{"jobId": "j1"}' + b" " * 200_000
    answer = asgi_post(api(), "GetJob", body, headers, http_version=http_version)
    assert answer.read == (0 if closes else len(body))
    assert (answer.headers.get(b"connection") == b"close") is closes


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"{not json", {"content-type": "application/json"}),
        (b"[" * 100_000 + b"]" * 100_000, {"content-type": "application/json"}),
        (b'{"jobId": 5}', {"content-type": "application/json"}),
        (b"\xff\xff\xff", {"content-type": "application/proto"}),
        (b"not gzip at all", {"content-type": "application/json", "content-encoding": "gzip"}),
        (gzip.compress(b'{"jobId":"x"}')[:-5], JSON),
    ],
)
def test_a_body_that_is_not_the_message_is_invalid_argument(
    body: bytes, headers: dict[str, str]
) -> None:
    status, error, _ = call("GetJob", body, headers | {"authorization": "Bearer alice-token"})
    assert (status, error["code"]) == (400, "invalid_argument"), error


def test_bounded_gzip_reads_concatenated_members() -> None:
    data = gzip.compress(b"ab") + gzip.compress(b"cd")
    assert BoundedGzip(10).decompress(data) == b"abcd"
    with pytest.raises(ConnectError):
        BoundedGzip(3).decompress(data)
