"""The gateway's one ASGI application: Connect/gRPC services by path, plus plain HTTP for
artifact downloads (/files/<job_id>/<name>) and the built web UI (client-side routes fall
back to index.html).

A download names its caller by the Authorization header, or ?access_token= or ?share= (a
link in a browser cannot set headers). Once allowed, a GET is redirected (302) to a
short-lived presigned URL when the object store has them (S3) and `redirect_downloads` is
on, so the bytes do not pass through the gateway; otherwise they are streamed from here."""

from __future__ import annotations

import asyncio
import gzip
import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from simlab.adapters.objectstore import ObjectStore
from simlab.common.errors import Code, SimlabError
from simlab.health.v1 import health_pb2 as health_pb
from simlab_gateway.core.artifacts import artifact_key, content_type
from simlab_gateway.core.auth import Authenticator

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
JobCheck = Callable[[str, str], Awaitable[object]]

_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg")
_HTTP_STATUS = {
    Code.UNAUTHENTICATED: 401,
    Code.PERMISSION_DENIED: 403,
    Code.NOT_FOUND: 404,
    Code.INVALID_ARGUMENT: 400,
}


class HealthService:
    """grpc.health.v1.Health: SERVING while the gateway can reach NATS."""

    def __init__(self, serving: Callable[[], bool]) -> None:
        self.serving = serving

    def _status(self) -> health_pb.HealthCheckResponse:
        ok = self.serving()
        return health_pb.HealthCheckResponse(
            status=health_pb.HealthCheckResponse.SERVING
            if ok
            else health_pb.HealthCheckResponse.NOT_SERVING
        )

    async def check(
        self, request: health_pb.HealthCheckRequest, ctx: Any
    ) -> health_pb.HealthCheckResponse:
        return self._status()

    async def watch(
        self, request: health_pb.HealthCheckRequest, ctx: Any
    ) -> AsyncIterator[health_pb.HealthCheckResponse]:
        last = None
        while True:
            status = self._status()
            if status != last:
                yield status
                last = status
            await asyncio.sleep(1)


class GatewayApp:
    def __init__(
        self,
        services: list[Any],
        auth: Authenticator,
        check_job: JobCheck,
        store: ObjectStore,
        web_dir: Path | None,
        redirect_downloads: bool = True,
    ) -> None:
        self.routes: dict[str, ASGIApp] = {service.path: service for service in services}
        self.auth = auth
        self.check_job = check_job
        self.store = store
        self.redirect_downloads = redirect_downloads
        self.web_dir = web_dir.resolve() if web_dir else None
        self._gzip_cache: dict[tuple[str, int], bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        service = self.routes.get(path[: path.rfind("/")])
        if service is not None:
            await service(scope, receive, send)
        elif path.startswith("/files/") and scope["method"] in ("GET", "HEAD"):
            await self._file(scope, send)
        elif scope["method"] in ("GET", "HEAD"):
            await self._static(path, scope, send)
        else:
            await _plain(send, 404, b"not found\n")

    async def _file(self, scope: Scope, send: Send) -> None:
        job_id, _, name = unquote(scope["path"].removeprefix("/files/")).partition("/")
        query = parse_qs(scope.get("query_string", b"").decode())
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        authorization = headers.get("authorization")
        for parameter in ("access_token", "share"):
            if not authorization and parameter in query:
                authorization = f"Bearer {query[parameter][0]}"
        try:
            principal = await self.auth.principal(authorization)
            await self.check_job(principal.owner_for("download", job_id), job_id)
            key = artifact_key(job_id, name)
            # A presigned URL is signed for GET only: HEAD is answered here.
            if self.redirect_downloads and scope["method"] == "GET":
                url = await asyncio.to_thread(self.store.presigned_url, key)
                if url is not None:
                    await _redirect(send, url)
                    return
            # Sized by listing: an S3 object streams, it cannot seek to its end.
            size = next(
                o.size for o in await asyncio.to_thread(self.store.list, key) if o.key == key
            )
            handle = await asyncio.to_thread(self.store.open, key)
        except (KeyError, StopIteration):
            await _plain(send, 404, b"no such artifact\n")
            return
        except SimlabError as error:
            await _plain(send, _HTTP_STATUS.get(error.code, 503), f"{error.message}\n".encode())
            return
        disposition = "inline" if query.get("inline") == ["1"] else "attachment"
        basename = name.rsplit("/", 1)[-1]
        await _stream(
            send,
            handle,
            size,
            content_type(key),
            [(b"content-disposition", f'{disposition}; filename="{basename}"'.encode())],
            head=scope["method"] == "HEAD",
        )

    async def _static(self, path: str, scope: Scope, send: Send) -> None:
        if self.web_dir is None or not (self.web_dir / "index.html").exists():
            await _plain(send, 404, b"The web UI is not built: run `make web-build`.\n")
            return
        target = (self.web_dir / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.web_dir) or not target.is_file():
            if path.startswith("/assets/"):
                await _plain(send, 404, b"not found\n")
                return
            # A client-side route such as /runs/<id>: the app decides what to show.
            target = self.web_dir / "index.html"
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        # Hashed assets never change; index.html must be re-read to pick up new builds.
        cache = "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache"
        headers = [(b"content-type", kind.encode()), (b"cache-control", cache.encode())]
        body = await asyncio.to_thread(target.read_bytes)
        accepts = dict(scope["headers"]).get(b"accept-encoding", b"")
        if kind.startswith(_COMPRESSIBLE) and b"gzip" in accepts:
            body = self._gzipped(target, body)
            headers.append((b"content-encoding", b"gzip"))
        headers += [(b"vary", b"accept-encoding"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    def _gzipped(self, target: Path, body: bytes) -> bytes:
        """Compressed once per file version: the UI's bundle is the first thing users wait on."""
        stamp = (str(target), target.stat().st_mtime_ns)
        if stamp not in self._gzip_cache:
            self._gzip_cache[stamp] = gzip.compress(body, compresslevel=9, mtime=0)
        return self._gzip_cache[stamp]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, url: str) -> None:
    # The URL is a short-lived credential: no cache may keep it.
    headers = [(b"location", url.encode()), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _stream(
    send: Send, handle: Any, size: int, kind: str, extra: list[tuple[bytes, bytes]], head: bool
) -> None:
    with handle:
        headers = [(b"content-type", kind.encode()), (b"content-length", str(size).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers + extra})
        if head:
            await send({"type": "http.response.body", "body": b""})
            return
        while chunk := await asyncio.to_thread(handle.read, 256 * 1024):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
