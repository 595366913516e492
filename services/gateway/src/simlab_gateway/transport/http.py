"""The gateway's one ASGI application: the Connect/gRPC services, each called for the paths
under its own (ahead of Starlette), and, routed by Starlette, plain HTTP for artifact
downloads (/files/<job_id>/<name>), code downloads (/code/jobs/<job_id>[/<path>],
/code/models/<name>@v<N>[/<path>]), a study's results as CSV (/studies/<study_id>/study.csv)
and the built web UI (client-side routes fall back to index.html), and browser sign-in
(/auth/login-link, /auth/login: core.sessions).

A download names its caller by the Authorization header, a share link's ?share= (a link in a
browser cannot set headers), or the browser's session cookie; tokens never go in URLs.
core.downloads decides whether it is allowed, and whether it is redirected (302) to a
short-lived presigned URL or streamed from here."""

from __future__ import annotations

import asyncio
import gzip
import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from http import HTTPMethod
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from connectrpc.code import Code as ConnectCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from simlab.common.errors import Code, SimlabError
from simlab.transport.connect import to_connect
from simlab_gateway.core.artifacts import CHUNK
from simlab_gateway.core.auth import Authenticator, Principal
from simlab_gateway.core.code import CodeDownloads
from simlab_gateway.core.downloads import Artifacts, Redirect, Stream
from simlab_gateway.core.sessions import COOKIE, SESSION_TTL_S
from simlab_gateway.core.study_use_cases import Studies

# The Connect protocol's HTTP status for each error code (connectrpc.com/docs/protocol).
HTTP_STATUS = {
    ConnectCode.CANCELED: 499,
    ConnectCode.UNKNOWN: 500,
    ConnectCode.INVALID_ARGUMENT: 400,
    ConnectCode.DEADLINE_EXCEEDED: 504,
    ConnectCode.NOT_FOUND: 404,
    ConnectCode.ALREADY_EXISTS: 409,
    ConnectCode.PERMISSION_DENIED: 403,
    ConnectCode.RESOURCE_EXHAUSTED: 429,
    ConnectCode.FAILED_PRECONDITION: 400,
    ConnectCode.ABORTED: 409,
    ConnectCode.OUT_OF_RANGE: 400,
    ConnectCode.UNIMPLEMENTED: 501,
    ConnectCode.INTERNAL: 500,
    ConnectCode.UNAVAILABLE: 503,
    ConnectCode.DATA_LOSS: 500,
    ConnectCode.UNAUTHENTICATED: 401,
}
_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg")
# RFC 5987 attr-char, besides the letters, digits and "-._~" that quote() always keeps.
_ATTR_CHARS = "!#$&+^`|"


def http_status(error: SimlabError) -> int:
    return HTTP_STATUS[to_connect(error).code]


def content_disposition(disposition: str, filename: str) -> str:
    """The Content-Disposition header (RFC 6266) for `filename`: a quoted filename= when the
    name is safe in one; otherwise filename*=UTF-8'' with the exact name percent-encoded
    (RFC 5987), after an ASCII stand-in (quotes, backslashes, controls and non-ASCII as "_")
    for clients that read only filename=."""
    encoded = quote(filename, safe=_ATTR_CHARS)
    if encoded == filename:
        return f'{disposition}; filename="{filename}"'
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def gateway_app(
    services: Sequence[Any],
    auth: Authenticator,
    artifacts: Artifacts,
    code: CodeDownloads,
    studies: Studies,
    web_dir: Path | None,
) -> ServicesFirst:
    """`services`: connect-python ASGI applications, each called for the paths under its
    `path`."""
    downloads = Downloads(auth, artifacts, code, studies)
    routes: list[BaseRoute] = [Mount(service.path, app=service) for service in services]
    sign_in = SignIn(auth)
    routes += [
        Route("/auth/login-link", sign_in.login_link, methods=["POST"]),
        Route("/auth/login", sign_in.login, methods=["GET"]),
        Route("/files/{target:path}", downloads.artifact, methods=["GET", "HEAD"]),
        Route("/code/{target:path}", downloads.code, methods=["GET", "HEAD"]),
        Route("/studies/{study_id}/study.csv", downloads.study_csv, methods=["GET", "HEAD"]),
        # Every method, so that a POST elsewhere is answered 404 like any unknown path.
        Route("/{path:path}", WebUI(web_dir).get, methods=list(HTTPMethod)),
    ]
    app = Starlette(routes=routes)
    # A path no route matches (a newline in it, say) is a 404, not a redirect to another one.
    app.router.redirect_slashes = False
    return ServicesFirst(services, app)


class ServicesFirst:
    """A call to one of the API's methods goes straight to its service, anything else to
    Starlette (whose Mount of each service takes what is left under its path). Starlette passes
    every message an application sends through its two error middlewares: each event of each
    WatchJob stream paid for them (8 % of the gateway's CPU time for a change watched 1,000
    times), and each unary call too."""

    def __init__(self, services: Sequence[Any], rest: ASGIApp) -> None:
        self.services = {service.path: service for service in services}
        self.rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # /<package>.<Service>/<Method>
            service = self.services.get(scope["path"].rpartition("/")[0])
            if service is not None:
                await service(scope, receive, send)
                return
        await self.rest(scope, receive, send)


# What a download finds for its caller; the bool: whether it may answer with a redirect.
Finder = Callable[[Principal, bool], Awaitable[Redirect | Stream]]


class Downloads:
    def __init__(
        self, auth: Authenticator, artifacts: Artifacts, code: CodeDownloads, studies: Studies
    ) -> None:
        self.auth = auth
        self.artifacts = artifacts
        self.code_downloads = code
        self.studies = studies

    async def artifact(self, request: Request) -> Response:
        """/files/<job_id>/<name>"""
        job_id, _, name = request.path_params["target"].partition("/")

        async def find(caller: Principal, may_redirect: bool) -> Redirect | Stream:
            return await self.artifacts.download(caller, job_id, name, may_redirect)

        return await self._serve(request, find)

    async def code(self, request: Request) -> Response:
        """/code/jobs/<job_id>[/<path>] or /code/models/<name>@v<N>[/<path>]"""
        kind, _, rest = request.path_params["target"].partition("/")
        target, _, path = rest.partition("/")

        async def find(caller: Principal, may_redirect: bool) -> Redirect | Stream:
            if kind == "jobs":
                return await self.code_downloads.of_job(caller, target, path)
            if kind == "models":
                return await self.code_downloads.of_model(caller, target, path)
            raise SimlabError(Code.NOT_FOUND, "not found: /code/jobs/... or /code/models/...")

        return await self._serve(request, find)

    async def study_csv(self, request: Request) -> Response:
        """/studies/<study_id>/study.csv: one row per point, streamed a page of points at a
        time (its length is not known before)."""
        study_id = request.path_params["study_id"]
        try:
            caller = await self._caller(request)
            lines = await self.studies.results(caller, study_id)
        except SimlabError as error:
            return PlainTextResponse(f"{error.message}\n", status_code=http_status(error))
        headers = {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": content_disposition("attachment", f"study-{study_id}.csv"),
        }
        if request.method == "HEAD":
            return Response(headers=headers)
        return StreamingResponse(lines, headers=headers)

    async def _caller(self, request: Request) -> Principal:
        """Named by the Authorization header, a share link's ?share= or the session cookie."""
        authorization = request.headers.get("authorization")
        if not authorization and (share := _query(request, "share")):
            authorization = f"Bearer {share[0]}"
        return await self.auth.principal(authorization, request.headers.get("cookie"))

    async def _serve(self, request: Request, find: Finder) -> Response:
        head = request.method == "HEAD"
        try:
            caller = await self._caller(request)
            # A presigned URL is signed for GET only: HEAD is answered here.
            found = await find(caller, not head)
        except SimlabError as error:
            return PlainTextResponse(f"{error.message}\n", status_code=http_status(error))
        if isinstance(found, Redirect):
            # The URL is a short-lived credential: no cache may keep it.
            return Response(
                status_code=302, headers={"location": found.url, "cache-control": "no-store"}
            )
        disposition = "inline" if _query(request, "inline") == ["1"] else "attachment"
        headers = {
            "content-type": found.content_type,
            "content-length": str(found.size),
            "content-disposition": content_disposition(disposition, found.filename),
        }
        if head:
            found.handle.close()
            return Response(headers=headers)
        return StreamingResponse(_chunks(found.handle), headers=headers)


class SignIn:
    """POST /auth/login-link (a configured bearer token) answers {"url": a one-time link};
    GET /auth/login?code= opens a browser session (cookie) and goes to the UI."""

    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    async def login_link(self, request: Request) -> Response:
        sessions = self.auth.sessions
        if sessions is None:
            return PlainTextResponse(
                "browser sign-in is off: the gateway has no SIMLAB_GATEWAY_SESSION_SECRET\n",
                status_code=404,
            )
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        # A configured token only: neither a share link nor a browser session may mint one.
        user = self.auth.user_of_token(token) if scheme.lower() == "bearer" else None
        if user is None:
            return PlainTextResponse(
                "a login link needs a valid bearer token\n",
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        code = sessions.login_code(user, token)
        return JSONResponse(
            {"url": f"{base}/auth/login?code={code}"}, headers={"cache-control": "no-store"}
        )

    async def login(self, request: Request) -> Response:
        sessions = self.auth.sessions
        code = _query(request, "code")
        if sessions is None or not code:
            return PlainTextResponse("not found\n", status_code=404)
        try:
            session = sessions.redeem(code[0])
        except SimlabError as error:
            message = f"{error.message} (`simlab login --web` prints one)\n"
            return PlainTextResponse(message, status_code=http_status(error))
        # No-referrer: the used code must not leak to the next page's requests.
        response = Response(
            status_code=303,
            headers={
                "location": "/",
                "cache-control": "no-store",
                "referrer-policy": "no-referrer",
            },
        )
        response.set_cookie(
            COOKIE,
            session,
            max_age=SESSION_TTL_S,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response


class WebUI:
    """The built web UI; any path that is not a file is a client-side route (index.html),
    except under /assets/, where a missing file is a 404."""

    def __init__(self, web_dir: Path | None) -> None:
        self.web_dir = web_dir.resolve() if web_dir else None
        self._gzip_cache: dict[tuple[str, int], bytes] = {}

    async def get(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse("not found\n", status_code=404)
        if self.web_dir is None or not (self.web_dir / "index.html").exists():
            return PlainTextResponse(
                "The web UI is not built: run `make web-build`.\n", status_code=404
            )
        path = "/" + request.path_params["path"]
        target = _resolved(self.web_dir / path.lstrip("/"))
        if target is None or not target.is_relative_to(self.web_dir) or not target.is_file():
            if path.startswith("/assets/"):
                return PlainTextResponse("not found\n", status_code=404)
            # A client-side route such as /runs/<id>: the app decides what to show.
            target = self.web_dir / "index.html"
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        # Hashed assets never change; index.html must be re-read to pick up new builds.
        cache = "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache"
        headers = {"content-type": kind, "cache-control": cache}
        body = await asyncio.to_thread(target.read_bytes)
        if kind.startswith(_COMPRESSIBLE) and "gzip" in request.headers.get("accept-encoding", ""):
            body = self._gzipped(target, body)
            headers["content-encoding"] = "gzip"
        headers |= {"vary": "accept-encoding", "content-length": str(len(body))}
        return Response(b"" if request.method == "HEAD" else body, headers=headers)

    def _gzipped(self, target: Path, body: bytes) -> bytes:
        """Compressed once per file version: the UI's bundle is the first thing users wait on."""
        stamp = (str(target), target.stat().st_mtime_ns)
        if stamp not in self._gzip_cache:
            self._gzip_cache[stamp] = gzip.compress(body, compresslevel=9, mtime=0)
        return self._gzip_cache[stamp]


def _resolved(path: Path) -> Path | None:
    """The real path, or None when no file can have it (a name too long, a NUL)."""
    try:
        resolved = path.resolve()
        resolved.is_file()
    except (OSError, ValueError):
        return None
    return resolved


def _query(request: Request, name: str) -> list[str]:
    """The query parameter's non-empty values."""
    return [value for value in request.query_params.getlist(name) if value]


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    with handle:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
