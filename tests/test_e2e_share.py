"""Share links end to end: a link is a read-only view of one run (API, downloads, CLI) and
grants nothing else; revocation and expiry take effect at once; only the owner manages it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.protobuf import struct_pb2

from simlab.client import Client
from simlab.common.errors import Code, SimlabError
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def finished_job(stack: Stack) -> pb.Job:
    with Client(stack.url, token="alice-token") as alice:
        return alice.wait(alice.submit("pi", {"samples": 20_000}, seed=11).job_id, progress=False)


@pytest.fixture
def viewer_of(stack: Stack) -> Iterator[Callable[[str], Client]]:
    """viewer_of(token): a client holding only that share token."""
    opened: list[Client] = []

    def open_(token: str) -> Client:
        opened.append(Client(stack.url, token=token))
        return opened[-1]

    yield open_
    for client in opened:
        client.close()


def refused(call: Callable[[], Any], code: Code) -> str:
    with pytest.raises(SimlabError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    return caught.value.message


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_a_share_link_reads_its_run_and_nothing_else(
    stack: Stack, alice: Client, bob: Client, finished_job: pb.Job, viewer_of: Any
) -> None:
    job_id = finished_job.job_id
    created = alice.share(job_id)
    viewer: Client = viewer_of(created.token)

    # Everything a run page needs.
    assert viewer.get(job_id).summary == finished_job.summary
    assert [e.job.state for e in viewer.watch(job_id)] == [pb.JOB_STATE_SUCCEEDED]
    assert viewer.progress_history(job_id)
    assert "summary.json" in [a.name for a in viewer.artifacts(job_id)]
    assert viewer.summary(job_id) == alice.summary(job_id)
    assert b"complete" in b"".join(c.data for c in viewer.logs(job_id))
    assert viewer.models()
    files = f"{stack.url}/files/{job_id}/summary.json"
    assert http_status(f"{files}?share={created.token}") == 200

    # Nothing else: no listing, submitting, cancelling, presets or further links.
    preset = pb.Preset(name="p", model="pi", parameters=struct_pb2.Struct())
    for call in (
        lambda: viewer.list_jobs(),
        lambda: viewer.submit("pi", {"samples": 1000}),
        lambda: viewer.cancel(job_id),
        lambda: viewer._call(viewer.stub.SavePreset, pb.SavePresetRequest(preset=preset)),
        lambda: viewer._call(viewer.stub.ListPresets, pb.ListPresetsRequest()),
        lambda: viewer.share(job_id),
        lambda: viewer.share_links(job_id),
        lambda: viewer.revoke_share_link(created.link.link_id),
    ):
        assert "needs a signed-in user" in refused(call, Code.PERMISSION_DENIED)

    # Nor any other run, the owner's or someone else's.
    others = [
        alice.submit("pi", {"samples": 1000}, seed=1).job_id,
        bob.submit("pi", {"samples": 1000}, seed=1).job_id,
    ]
    for other in others:
        for call in (
            lambda o=other: viewer.get(o),
            lambda o=other: viewer.artifacts(o),
            lambda o=other: list(viewer.logs(o)),
            lambda o=other: list(viewer.watch(o)),
        ):
            assert "for run" in refused(call, Code.PERMISSION_DENIED)
        assert http_status(f"{stack.url}/files/{other}/summary.json?share={created.token}") == 403


def test_a_revoked_link_stops_working_at_once(
    stack: Stack, alice: Client, finished_job: pb.Job, viewer_of: Any
) -> None:
    job_id = finished_job.job_id
    created = alice.share(job_id)
    viewer: Client = viewer_of(created.token)
    assert viewer.get(job_id).job_id == job_id
    revoked = alice.revoke_share_link(created.link.link_id)
    assert revoked.HasField("revoked_at")
    assert refused(lambda: viewer.get(job_id), Code.UNAUTHENTICATED) == (
        "this share link was revoked"
    )
    refused(lambda: list(viewer.logs(job_id)), Code.UNAUTHENTICATED)
    assert http_status(f"{stack.url}/files/{job_id}/summary.json?share={created.token}") == 401


def test_an_expired_link_stops_working(alice: Client, finished_job: pb.Job, viewer_of: Any) -> None:
    created = alice.share(finished_job.job_id, ttl_seconds=1)
    viewer: Client = viewer_of(created.token)
    assert viewer.get(finished_job.job_id).job_id == finished_job.job_id
    time.sleep(1.2)
    assert refused(lambda: viewer.get(finished_job.job_id), Code.UNAUTHENTICATED) == (
        "this share link has expired"
    )


def test_only_the_owner_lists_creates_and_revokes_links(
    alice: Client, bob: Client, finished_job: pb.Job
) -> None:
    job_id = finished_job.job_id
    created = alice.share(job_id, ttl_seconds=3600)
    assert created.link.link_id in [link.link_id for link in alice.share_links(job_id)]
    refused(lambda: bob.share(job_id), Code.NOT_FOUND)
    refused(lambda: bob.share_links(job_id), Code.NOT_FOUND)
    refused(lambda: bob.revoke_share_link(created.link.link_id), Code.NOT_FOUND)
    assert not next(
        link for link in alice.share_links(job_id) if link.link_id == created.link.link_id
    ).HasField("revoked_at")


def simlab(stack: Stack, *args: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "simlab.cli", "--server", stack.url, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", "SIMLAB_TOKEN": stack.token},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_share_through_the_cli(stack: Stack, client: Client) -> None:
    job = client.wait(client.submit("pi", {"samples": 1000}, seed=2).job_id, progress=False)
    created = simlab(stack, "share", job.job_id, "--expires", "7d")
    assert created["url"] == f"{stack.url}/runs/{job.job_id}?share={created['token']}"
    assert created["status"] == "active" and created["expires_at"]
    with Client(stack.url, token=created["token"]) as viewer:
        assert viewer.get(job.job_id).job_id == job.job_id
    listed = simlab(stack, "share", job.job_id, "--list")["links"]
    assert [link["link_id"] for link in listed] == [created["link_id"]]
    revoked = simlab(stack, "share", job.job_id, "--revoke", created["link_id"])
    assert revoked["status"] == "revoked"
