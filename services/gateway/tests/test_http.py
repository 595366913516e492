"""The plain-HTTP side, called as ASGI with fake ports: Connect's status for each error, the
download's headers, the web UI's fallbacks, and the API services called by path."""

from __future__ import annotations

import asyncio
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from connectrpc.code import Code as ConnectCode

from services.gateway.tests.fakes import FakeJobStore, FakeObjects, fake_models, fake_studies
from simlab.bundle import Bundle
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.artifacts import bundle_key
from simlab_gateway.core.auth import Authenticator
from simlab_gateway.core.bundles import BundleStore
from simlab_gateway.core.code import CodeDownloads
from simlab_gateway.core.downloads import Artifacts
from simlab_gateway.core.sessions import COOKIE, Sessions
from simlab_gateway.transport.http import (
    HTTP_STATUS,
    ServicesFirst,
    content_disposition,
    gateway_app,
    http_status,
)

TOKENS = {"alice-token": "alice", "bob-token": "bob"}
SESSIONS = Sessions("s" * 32)
INDEX = b"<!doctype html><title>Simlab</title>"
APP_JS = b"console.log('simlab');\n" * 100


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeService:
    """Stands in for a connect-python application: records the paths it is called for."""

    path: str
    paths: list[str] = field(default_factory=list)
    # The scope and send of each call, as the service was given them.
    calls: list[tuple[dict[str, Any], Any]] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        self.calls.append((scope, send))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"rpc"})


def call(app: ServicesFirst, method: str, path: str, query: str = "", **headers: str) -> Reply:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return Reply(
        start["status"],
        {k.decode(): v.decode() for k, v in start["headers"]},
        b"".join(m.get("body", b"") for m in sent[1:]),
    )


def app(
    store: FakeJobStore | None = None,
    objects: FakeObjects | None = None,
    web_dir: Path | None = None,
    services: tuple[FakeService, ...] = (),
    sessions: Sessions | None = SESSIONS,
) -> ServicesFirst:
    if store is None:
        store = FakeJobStore()
        store.add("alice", pb.Job(job_id="job1"))
    if objects is None:
        objects = FakeObjects({"jobs/job1/summary.json": b"{}", 'jobs/job1/résumé "v2".csv': b"a"})
    models = fake_models(store, objects)
    code = CodeDownloads(store, BundleStore(objects), models)
    auth = Authenticator(TOKENS, sessions=sessions)
    studies = fake_studies(store, models)
    return gateway_app(services, auth, Artifacts(store, objects, True), code, studies, web_dir)


def test_the_status_table_is_connects() -> None:
    # connectrpc.com/docs/protocol#error-codes
    assert {code.value: status for code, status in HTTP_STATUS.items()} == {
        "canceled": 499,
        "unknown": 500,
        "invalid_argument": 400,
        "deadline_exceeded": 504,
        "not_found": 404,
        "already_exists": 409,
        "permission_denied": 403,
        "resource_exhausted": 429,
        "failed_precondition": 400,
        "aborted": 409,
        "out_of_range": 400,
        "unimplemented": 501,
        "internal": 500,
        "unavailable": 503,
        "data_loss": 500,
        "unauthenticated": 401,
    }
    assert set(HTTP_STATUS) == set(ConnectCode)
    for code in Code:
        assert http_status(SimlabError(code, "")) == HTTP_STATUS[ConnectCode(code.value)]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (Code.INVALID_ARGUMENT, 400),
        (Code.NOT_FOUND, 404),
        (Code.ALREADY_EXISTS, 409),
        (Code.FAILED_PRECONDITION, 400),
        (Code.PERMISSION_DENIED, 403),
        (Code.UNAUTHENTICATED, 401),
        (Code.UNAVAILABLE, 503),
        (Code.INTERNAL, 500),
    ],
)
def test_a_refused_download_answers_with_connects_status(code: Code, status: int) -> None:
    class Refusing(FakeJobStore):
        async def get_job(self, owner: str, job_id: str) -> pb.Job:
            raise SimlabError(code, "refused")

    reply = call(
        app(store=Refusing()), "GET", "/files/job1/summary.json", authorization="Bearer alice-token"
    )
    assert (reply.status, reply.body) == (status, b"refused\n")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("summary.json", 'attachment; filename="summary.json"'),
        ("a b.csv", "attachment; filename=\"a b.csv\"; filename*=UTF-8''a%20b.csv"),
        (
            'résumé "v2".csv',
            'attachment; filename="r_sum_ _v2_.csv"; '
            "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.csv",
        ),
        ("a\\b\r\n.txt", "attachment; filename=\"a_b__.txt\"; filename*=UTF-8''a%5Cb%0D%0A.txt"),
        ("x!#$&+^`|~-_.y", 'attachment; filename="x!#$&+^`|~-_.y"'),
    ],
)
def test_the_download_filename_is_escaped(name: str, header: str) -> None:
    assert content_disposition("attachment", name) == header
    assert header.isascii()


def test_a_download_streams_with_its_headers() -> None:
    reply = call(app(), "GET", '/files/job1/résumé "v2".csv', authorization="Bearer alice-token")
    assert (reply.status, reply.body) == (200, b"a")
    assert reply.headers["content-length"] == "1"
    assert reply.headers["content-type"] == "text/csv"
    assert reply.headers["content-disposition"] == content_disposition(
        "attachment", 'résumé "v2".csv'
    )
    inline = call(
        app(),
        "GET",
        "/files/job1/summary.json",
        "inline=1&share=",
        authorization="Bearer alice-token",
    )
    assert inline.headers["content-disposition"] == 'inline; filename="summary.json"'


def test_a_link_names_its_caller_by_share_token_or_session_cookie_never_access_token() -> None:
    assert call(app(), "GET", "/files/job1/summary.json", "share=alice-token").status == 200
    # A long-lived token in a URL ends up in logs and histories: not accepted any more.
    assert call(app(), "GET", "/files/job1/summary.json", "access_token=alice-token").status == 401
    assert call(app(), "GET", "/files/job1/summary.json").status == 401
    cookie = f"{COOKIE}={SESSIONS.redeem(SESSIONS.login_code('alice', 'alice-token'))}"
    assert call(app(), "GET", "/files/job1/summary.json", cookie=cookie).status == 200
    bobs = f"{COOKIE}={SESSIONS.redeem(SESSIONS.login_code('bob', 'bob-token'))}"
    assert call(app(), "GET", "/files/job1/summary.json", cookie=bobs).status == 404


def test_a_login_link_is_given_to_a_token_and_opens_a_session_once() -> None:
    gateway = app()
    link = call(
        gateway,
        "POST",
        "/auth/login-link",
        authorization="Bearer alice-token",
        host="127.0.0.1:8080",
    )
    assert (link.status, link.headers["cache-control"]) == (200, "no-store")
    url = json.loads(link.body)["url"]
    base, _, code = url.partition("/auth/login?code=")
    assert base == "http://127.0.0.1:8080" and code
    opened = call(gateway, "GET", "/auth/login", f"code={code}")
    assert (opened.status, opened.headers["location"]) == (303, "/")
    cookie = opened.headers["set-cookie"]
    name, _, rest = cookie.partition("=")
    value, *flags = [part.strip() for part in rest.split(";")]
    assert name == COOKIE
    assert {f.lower() for f in flags} >= {"httponly", "samesite=strict", "path=/", "max-age=604800"}
    assert "secure" not in {f.lower() for f in flags}  # plain http: the browser would drop it
    files = call(gateway, "GET", "/files/job1/summary.json", cookie=f"{COOKIE}={value}")
    assert files.status == 200
    again = call(gateway, "GET", "/auth/login", f"code={code}")
    assert again.status == 401 and b"already used" in again.body
    assert "set-cookie" not in again.headers


def test_only_a_configured_token_gets_a_login_link() -> None:
    gateway = app()
    for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": "Basic alice-token"}):
        assert call(gateway, "POST", "/auth/login-link", **headers).status == 401
    cookie = f"{COOKIE}={SESSIONS.redeem(SESSIONS.login_code('alice', 'alice-token'))}"
    assert call(gateway, "POST", "/auth/login-link", cookie=cookie).status == 401
    assert (
        call(gateway, "GET", "/auth/login-link", authorization="Bearer alice-token").status == 404
    )
    for query in ("", "code=", "code=forged.x"):
        assert call(gateway, "GET", "/auth/login", query).status in (401, 404)


def test_without_a_session_secret_browsers_cannot_sign_in() -> None:
    gateway = app(sessions=None)
    link = call(gateway, "POST", "/auth/login-link", authorization="Bearer alice-token")
    assert link.status == 404 and b"SIMLAB_GATEWAY_SESSION_SECRET" in link.body


def test_head_answers_the_headers_and_closes_the_artifact() -> None:
    objects = FakeObjects({"jobs/job1/summary.json": b"{}"}, presigns=True)
    reply = call(
        app(objects=objects), "HEAD", "/files/job1/summary.json", authorization="Bearer alice-token"
    )
    assert (reply.status, reply.body, reply.headers["content-length"]) == (200, b"", "2")
    assert [handle.closed for handle in objects.opened] == [True]


def test_a_redirect_is_not_cached() -> None:
    objects = FakeObjects({"jobs/job1/summary.json": b"{}"}, presigns=True)
    reply = call(
        app(objects=objects), "GET", "/files/job1/summary.json", authorization="Bearer alice-token"
    )
    assert reply.status == 302
    assert reply.headers["location"] == "https://objects.example/jobs/job1/summary.json?signature=x"
    assert reply.headers["cache-control"] == "no-store"
    assert objects.opened == []


def test_a_download_without_a_name_is_invalid_and_other_methods_are_not_found() -> None:
    assert call(app(), "GET", "/files/job1", authorization="Bearer alice-token").status == 400
    assert call(app(), "POST", "/files/job1/summary.json").status == 404


def test_services_are_called_by_their_path() -> None:
    service = FakeService("/simlab.v1.SimulationService")
    gateway = app(services=(service,))
    reply = call(gateway, "POST", "/simlab.v1.SimulationService/GetJob")
    assert (reply.status, reply.body) == (200, b"rpc")
    assert service.paths == ["/simlab.v1.SimulationService/GetJob"]


def test_a_call_reaches_its_service_with_the_servers_own_scope_and_send() -> None:
    """Nothing between the server and a service: each message a stream sends goes straight
    out (Starlette's middlewares wrapped each one)."""
    service = FakeService("/simlab.v1.SimulationService")
    gateway = app(services=(service,))
    scope = {"type": "http", "method": "POST", "path": "/simlab.v1.SimulationService/WatchJob"}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    asyncio.run(gateway(scope, receive, send))
    [(seen_scope, seen_send)] = service.calls
    assert seen_scope is scope and seen_send is send
    # A path deeper than a method's is still the service's to answer, through Starlette.
    reply = call(gateway, "POST", "/simlab.v1.SimulationService/GetJob/more")
    assert reply.status == 200 and service.paths[-1] == "/simlab.v1.SimulationService/GetJob/more"


def test_the_web_ui_with_client_side_routes_and_cached_gzipped_assets(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "app-1.js").write_bytes(APP_JS)
    web = app(web_dir=tmp_path)
    for path in ("/", "/runs/abc", "/../../etc/passwd"):
        reply = call(web, "GET", path)
        assert (reply.status, reply.body) == (200, INDEX)
        assert reply.headers["cache-control"] == "no-cache"
        assert reply.headers["content-type"] == "text/html"
    asset = call(web, "GET", "/assets/app-1.js", accept_encoding="gzip, br")
    assert gzip.decompress(asset.body) == APP_JS
    assert asset.headers["content-encoding"] == "gzip"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert call(web, "GET", "/assets/app-1.js").body == APP_JS
    head = call(web, "HEAD", "/assets/app-1.js")
    assert (head.body, head.headers["content-length"]) == (b"", str(len(APP_JS)))
    assert call(web, "GET", "/assets/gone-0.js").status == 404
    assert call(web, "POST", "/runs/abc").status == 404


def test_without_a_built_ui_every_page_says_so(tmp_path: Path) -> None:
    reply = call(app(web_dir=tmp_path), "GET", "/runs/abc")
    assert reply.status == 404 and b"make web-build" in reply.body


def test_code_downloads_serve_the_bundle_or_one_file_of_it() -> None:
    code = Bundle("fit.py", {"fit.py": b"print(1)\n", "data/x.csv": b"a,b\n"})
    store = FakeJobStore()
    store.add("alice", pb.Job(job_id="job1", model="fit", model_version=2, code_sha256=code.sha256))
    store.add_model(pb.Model(name="fit", version=2, owner="alice", code_sha256=code.sha256))
    gateway = app(store=store, objects=FakeObjects({bundle_key(code.sha256): code.archive()}))
    alice = {"authorization": "Bearer alice-token"}
    for path in ("/code/jobs/job1", "/code/models/fit@v2"):
        tar = call(gateway, "GET", path, **alice)
        assert (tar.status, tar.body) == (200, code.archive())
        assert tar.headers["content-type"] == "application/x-tar"
        assert tar.headers["content-disposition"] == content_disposition("attachment", "fit@v2.tar")
        source = call(gateway, "GET", f"{path}/fit.py", "inline=1", **alice)
        assert (source.status, source.body) == (200, b"print(1)\n")
        assert source.headers["content-type"] == "text/plain; charset=utf-8"
        assert source.headers["content-disposition"] == 'inline; filename="fit.py"'
        data = call(gateway, "GET", f"{path}/data/x.csv", **alice)
        assert (data.body, data.headers["content-type"]) == (b"a,b\n", "text/csv")
        assert call(gateway, "GET", f"{path}/nope.py", **alice).status == 404
        assert call(gateway, "GET", path, authorization="Bearer bob-token").status == 404
        head = call(gateway, "HEAD", path, **alice)
        assert (head.status, head.body) == (200, b"")
    assert call(gateway, "GET", "/code/other/job1", **alice).status == 404
    assert call(gateway, "GET", "/code/models/fit@2", **alice).status == 400


def test_a_web_path_no_file_can_have_is_a_client_side_route(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_bytes(INDEX)
    web = app(web_dir=tmp_path)
    for path in ("/runs/" + "x" * 5000, "/a/" + "b" * 300 + "/c", "/runs/a\0b"):
        assert call(web, "GET", path).body == INDEX
    assert call(web, "GET", "/assets/" + "x" * 5000).status == 404
    # No route matches a newline; the answer is not a redirect to a path without the slash.
    assert call(web, "GET", "/code/models/\u00d0\n/").status == 404
