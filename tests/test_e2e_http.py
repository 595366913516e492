"""The gateway's plain-HTTP side: the web UI with client-side routes, and downloads."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request

import pytest
import requests

from simlab.client import Client
from simlab.devstack.stack import Stack
from tests.conftest import APP_JS, INDEX_HTML

pytestmark = pytest.mark.e2e


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read()


def _lower(headers: object) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}  # type: ignore[attr-defined]


def test_client_side_routes_get_the_app(stack: Stack) -> None:
    for path in ("/", "/runs/abc", "/compare?ids=a,b"):
        status, headers, body = get(stack.url + path)
        assert (status, body.decode()) == (200, INDEX_HTML)
        assert headers["cache-control"] == "no-cache"


def test_assets_are_cached_forever_and_gzipped_for_browsers_that_ask(stack: Stack) -> None:
    status, headers, body = get(f"{stack.url}/assets/app-1234.js", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert "immutable" in headers["cache-control"]
    assert gzip.decompress(body).decode() == APP_JS
    assert len(body) < len(APP_JS) / 10
    status, headers, body = get(f"{stack.url}/assets/app-1234.js")
    assert "content-encoding" not in headers and body.decode() == APP_JS


def test_a_missing_asset_is_404_not_the_app(stack: Stack) -> None:
    assert get(f"{stack.url}/assets/gone-0000.js")[0] == 404


def test_downloads_need_the_owner(stack: Stack, alice: Client) -> None:
    job = alice.wait(alice.submit("pi", {"samples": 1000}, seed=3).job_id, progress=False)
    url = f"{stack.url}/files/{job.job_id}/summary.json"
    status, headers, body = get(url, Authorization="Bearer alice-token")
    assert status == 200
    assert headers["content-disposition"] == 'attachment; filename="summary.json"'
    assert b'"summary"' in body
    assert get(url, Authorization="Bearer bob-token")[0] == 404
    assert get(url, Authorization="Bearer forged")[0] == 401
    assert get(f"{url}?inline=1", Authorization="Bearer alice-token")[1][
        "content-disposition"
    ].startswith("inline")
    missing = f"{stack.url}/files/{job.job_id}/nope.bin"
    assert get(missing, Authorization="Bearer alice-token")[0] == 404


def test_a_refused_body_does_not_stall_the_next_call_on_the_connection(stack: Stack) -> None:
    """A body refused unread (a wrong token here) closes an HTTP/1.1 connection: kept open, its
    unread rest was taken for the next request, which hung until the client gave up."""
    session = requests.Session()
    body = b'{"preset": {"name": "' + b"x" * 1_000_000 + b'"}}'
    headers = {"content-type": "application/json", "authorization": "Bearer nobody"}
    url = f"{stack.url}/simlab.v1.SimulationService/SavePreset"
    for _ in range(3):
        refused = session.post(url, data=body, headers=headers, timeout=10)
        assert refused.json()["code"] == "unauthenticated"
        assert refused.headers["connection"] == "close"
        assert session.get(f"{stack.url}/healthz", timeout=10).status_code == 200
