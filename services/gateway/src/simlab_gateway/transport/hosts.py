"""The Host allow-list, checked before routing for every protocol: a web page elsewhere
that points its own domain name at this address (DNS rebinding) makes the browser send
that name as Host, and is refused here before it reaches the API, the downloads or the UI.

The gRPC health check is exempt: the kubelet's probe addresses the pod by its IP, and it
tells nothing but SERVING or not."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

HEALTH_PATH = "/grpc.health.v1.Health/"


def host_name(host: str) -> str:
    """The name of a Host header or host:port: no port, no brackets, lower case, no
    trailing dot ("[::1]:8080" -> "::1", "Example.COM.:80" -> "example.com")."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


class AllowedHosts:
    """ASGI middleware: `hosts` None allows every Host."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str] | None) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hosts is None or scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if host_name(host) in self.hosts or scope.get("path", "").startswith(HEALTH_PATH):
            return await self.app(scope, receive, send)
        message = (
            f"the host {host!r} is not allowed: add it to SIMLAB_GATEWAY_ALLOWED_HOSTS "
            "if this gateway is meant to be reached by that name"
        )
        await _refuse(scope, send, headers.get(b"content-type", b"").decode("latin-1"), message)


async def _refuse(scope: Scope, send: Send, content_type: str, message: str) -> None:
    """PERMISSION_DENIED as the caller's protocol speaks it."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    if content_type.startswith("application/grpc"):
        # gRPC and gRPC-Web: a trailers-only answer (status in the headers).
        status = [(b"grpc-status", b"7"), (b"grpc-message", _grpc_message(message))]
        trailers = "http.response.trailers" in scope.get("extensions", {}) and not (
            content_type.startswith("application/grpc-web")
        )
        head = [(b"content-type", content_type.encode("latin-1"))]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": head if trailers else head + status,
                "trailers": trailers,
            }
        )
        await send({"type": "http.response.body", "body": b""})
        if trailers:
            await send({"type": "http.response.trailers", "headers": status})
        return
    body: Any
    if content_type.startswith(("application/json", "application/proto", "application/connect")):
        # Connect: the error as JSON, with HTTP 403 (permission_denied).
        body = json.dumps({"code": "permission_denied", "message": message}).encode()
        kind = b"application/json"
    else:
        body = f"{message}\n".encode()
        kind = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _grpc_message(message: str) -> bytes:
    """grpc-message is percent-encoded (gRPC over HTTP/2, "Response")."""
    return "".join(
        c if " " <= c <= "~" and c != "%" else "".join(f"%{b:02X}" for b in c.encode())
        for c in message
    ).encode()
