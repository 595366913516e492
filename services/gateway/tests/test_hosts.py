"""The Host allow-list: refused before routing, in the caller's protocol."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import pytest

from simlab_gateway.transport.hosts import AllowedHosts, host_name

HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def call(
    host: str | None, path: str = "/", content_type: str = "", trailers: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """The messages sent for a request, and the paths the wrapped app saw."""
    reached: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    headers = [(b"content-type", content_type.encode())] if content_type else []
    if host is not None:
        headers.append((b"host", host.encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST" if content_type else "GET",
        "path": path,
        "headers": headers,
        "extensions": {"http.response.trailers": {}} if trailers else {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("a refused request's body is never read")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(AllowedHosts(inner, HOSTS)(scope, receive, send))
    return sent, reached


def headers_of(message: dict[str, Any]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in message["headers"]}


@pytest.mark.parametrize("host", ["localhost:8080", "127.0.0.1", "[::1]:8080", "LOCALHOST."])
def test_an_allowed_host_is_served(host: str) -> None:
    _, reached = call(host, "/runs/x")
    assert reached == ["/runs/x"]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "localhost.evil", "", None])
def test_another_host_gets_403_before_routing(host: str | None) -> None:
    sent, reached = call(host, "/")
    assert reached == []
    assert sent[0]["status"] == 403
    assert b"SIMLAB_GATEWAY_ALLOWED_HOSTS" in sent[1]["body"]


def test_connect_gets_permission_denied_as_json() -> None:
    sent, reached = call(
        "evil.example", "/simlab.v1.SimulationService/ListJobs", "application/json"
    )
    assert reached == [] and sent[0]["status"] == 403
    assert json.loads(sent[1]["body"])["code"] == "permission_denied"


def test_grpc_gets_permission_denied_in_its_trailers() -> None:
    sent, reached = call(
        "evil.example", "/simlab.v1.SimulationService/ListJobs", "application/grpc", trailers=True
    )
    assert reached == []
    assert sent[0]["status"] == 200 and sent[0]["trailers"] is True
    assert not sent[1].get("more_body")  # then the trailers (ASGI's order)
    assert headers_of(sent[2])["grpc-status"] == "7"
    assert "evil.example" in headers_of(sent[2])["grpc-message"]


def test_grpc_web_gets_permission_denied_in_its_headers() -> None:
    sent, _ = call(
        "evil.example", "/simlab.v1.SimulationService/ListJobs", "application/grpc-web+proto"
    )
    assert sent[0]["status"] == 200 and headers_of(sent[0])["grpc-status"] == "7"


def test_the_health_check_answers_any_host() -> None:
    # The kubelet's probe addresses the pod by its IP.
    _, reached = call("10.1.2.3:8080", "/grpc.health.v1.Health/Check", "application/grpc")
    assert reached == ["/grpc.health.v1.Health/Check"]


def test_any_host_when_allowed() -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    reached: list[str] = []
    scope = {"type": "http", "path": "/", "headers": [(b"host", b"evil.example")]}
    asyncio.run(AllowedHosts(inner, None)(scope, None, None))  # type: ignore[arg-type]
    assert reached == ["/"]


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("Example.COM.:80", "example.com"),
        ("[::1]:8080", "::1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("localhost", "localhost"),
        ("", ""),
    ],
)
def test_host_names(given: str, name: str) -> None:
    assert host_name(given) == name
