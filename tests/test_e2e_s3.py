"""The embedded stack with its results in a real MinIO: downloads are redirected to
short-lived presigned URLs once the gateway has checked who asks; logs are kept there too."""

from __future__ import annotations

import http.client
import time
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from simlab.client import Client
from simlab.devstack.minio_server import minio_binary, start_minio
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb
from tests.conftest import running_stack

pytestmark = pytest.mark.e2e
PRESIGN_EXPIRES_S = 120


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("s3-stack")
    minio = start_minio(minio_binary(pytestconfig.rootpath), state / "minio")
    try:
        yield from running_stack(
            state,
            **minio.env("simlab-e2e"),
            SIMLAB_GATEWAY_S3_PRESIGN_EXPIRES_S=str(PRESIGN_EXPIRES_S),
        )
    finally:
        minio.stop()


def request(url: str, method: str = "GET", **headers: str) -> http.client.HTTPResponse:
    """One request, redirects not followed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    connection.request(method, f"{parts.path}?{parts.query}", headers=headers)
    return connection.getresponse()


@pytest.fixture(scope="module")
def finished_job(stack: Stack) -> pb.Job:
    with Client(stack.url, token="alice-token") as alice:
        return alice.wait(alice.submit("pi", {"samples": 20_000}, seed=7).job_id, progress=False)


def test_an_allowed_download_is_redirected_to_a_short_lived_presigned_url(
    stack: Stack, alice: Client, finished_job: pb.Job
) -> None:
    url = f"{stack.url}/files/{finished_job.job_id}/summary.json"
    response = request(url, Authorization="Bearer alice-token")
    assert response.status == 302
    assert response.getheader("cache-control") == "no-store"
    location = response.getheader("location")
    assert location and location.startswith(stack.service_env("gateway")["SIMLAB_S3_ENDPOINT"])
    assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == [str(PRESIGN_EXPIRES_S)]
    # The URL alone is enough (no token) and gives the committed artifact.
    with urllib.request.urlopen(location, timeout=10) as presigned:
        assert presigned.read() == alice.read(finished_job.job_id, "summary.json")


def test_nobody_else_is_redirected(stack: Stack, finished_job: pb.Job) -> None:
    url = f"{stack.url}/files/{finished_job.job_id}/summary.json"
    assert request(url, Authorization="Bearer bob-token").status == 404
    assert request(url, Authorization="Bearer forged").status == 401
    missing = request(
        f"{stack.url}/files/{finished_job.job_id}/nope.json",
        **{"Authorization": "Bearer alice-token"},
    )
    assert missing.status == 404


def test_a_share_link_download_is_redirected_too(
    stack: Stack, alice: Client, finished_job: pb.Job
) -> None:
    token = alice.share(finished_job.job_id).token
    response = request(f"{stack.url}/files/{finished_job.job_id}/plot.png?share={token}")
    assert response.status == 302
    with urllib.request.urlopen(response.getheader("location") or "", timeout=10) as presigned:
        assert presigned.read().startswith(b"\x89PNG")


def test_head_is_answered_by_the_gateway(stack: Stack, finished_job: pb.Job) -> None:
    url = f"{stack.url}/files/{finished_job.job_id}/summary.json"
    response = request(url, "HEAD", Authorization="Bearer alice-token")
    assert response.status == 200 and int(response.getheader("content-length") or 0) > 0


def test_logs_are_kept_in_the_store_and_served_after_the_end(
    alice: Client, finished_job: pb.Job
) -> None:
    deadline = time.monotonic() + 20
    while "logs/shard-0.log" not in {a.name for a in alice.artifacts(finished_job.job_id)}:
        assert time.monotonic() < deadline, "the worker log was not kept"
        time.sleep(0.2)
    assert b"complete" in b"".join(c.data for c in alice.logs(finished_job.job_id))
