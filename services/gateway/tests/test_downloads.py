"""Artifact use cases with fake ports: a download is allowed as the job is, then redirected
to the object store or streamed from the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from services.gateway.tests.fakes import FakeJobStore, FakeObjects
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.downloads import Artifacts, Redirect, Stream

T = TypeVar("T")
ALICE = Principal("alice")
SUMMARY = "jobs/job1/summary.json"


def artifacts(presigns: bool = False, redirect_downloads: bool = True) -> Artifacts:
    store = FakeJobStore()
    store.add("alice", pb.Job(job_id="job1"))
    objects = FakeObjects(
        {SUMMARY: b'{"mean": 1}', "jobs/job1/plots/a b.png": b"png", "jobs/job1/empty": b""},
        presigns=presigns,
    )
    return Artifacts(store, objects, redirect_downloads)


def run(call: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(call)


def refused(call: Coroutine[Any, Any, object]) -> Code:
    with pytest.raises(SimlabError) as caught:
        run(call)
    return caught.value.code


def test_a_store_that_presigns_gets_the_download_as_a_redirect() -> None:
    found = run(artifacts(presigns=True).download(ALICE, "job1", "summary.json", True))
    assert found == Redirect(f"https://objects.example/{SUMMARY}?signature=x")


@pytest.mark.parametrize(
    ("presigns", "redirect_downloads", "may_redirect"),
    [
        (False, True, True),  # a local directory has no URLs to give
        (True, False, True),  # redirects are turned off
        (True, True, False),  # HEAD: a presigned URL is for GET only
    ],
)
def test_otherwise_the_download_streams_from_here(
    presigns: bool, redirect_downloads: bool, may_redirect: bool
) -> None:
    found = run(
        artifacts(presigns, redirect_downloads).download(
            ALICE, "job1", "plots/a b.png", may_redirect
        )
    )
    assert isinstance(found, Stream)
    with found.handle:
        assert found.handle.read() == b"png"
    assert (found.size, found.content_type, found.filename) == (3, "image/png", "a b.png")


@pytest.mark.parametrize("presigns", [False, True])
def test_downloads_are_refused_as_the_job_is(presigns: bool) -> None:
    use = artifacts(presigns)
    assert refused(use.download(Principal("bob"), "job1", "summary.json", True)) == Code.NOT_FOUND
    viewer = Principal("alice", shared_job="job2")
    assert refused(use.download(viewer, "job1", "summary.json", True)) == Code.PERMISSION_DENIED
    assert refused(use.download(ALICE, "job1", "nope.json", True)) == Code.NOT_FOUND
    assert refused(use.download(ALICE, "job1", "../job2/x", True)) == Code.INVALID_ARGUMENT


def test_a_share_link_downloads_from_its_run() -> None:
    viewer = Principal("alice", shared_job="job1")
    assert isinstance(run(artifacts().download(viewer, "job1", "summary.json", True)), Stream)


def test_artifacts_are_listed_by_name_under_the_job() -> None:
    listed = run(artifacts().list(ALICE, "job1"))
    assert [(a.name, a.size, a.content_type) for a in listed.artifacts] == [
        ("empty", 0, "application/octet-stream"),
        ("plots/a b.png", 3, "image/png"),
        ("summary.json", 11, "application/json"),
    ]


def test_reading_an_artifact_tells_its_metadata_first() -> None:
    async def read(name: str) -> list[pb.ArtifactChunk]:
        return [chunk async for chunk in artifacts().read(ALICE, "job1", name)]

    chunks = run(read("summary.json"))
    assert b"".join(c.data for c in chunks) == b'{"mean": 1}'
    assert chunks[0].artifact.size == 11 and not chunks[1].HasField("artifact")
    [empty] = run(read("empty"))
    assert (empty.artifact.name, empty.data) == ("empty", b"")
    with pytest.raises(SimlabError, match="artifact 'nope' of job job1 not found"):
        run(read("nope"))


def test_a_cache_hits_artifacts_are_those_of_the_run_it_reused() -> None:
    """The hit (job2, alice's) reuses bob's run of a public model, which alice cannot read."""
    store = FakeJobStore()
    store.add("bob", pb.Job(job_id="job1"))
    store.add("alice", pb.Job(job_id="job2", cached_from="job1"))
    use = Artifacts(store, FakeObjects({SUMMARY: b'{"mean": 1}'}, presigns=True), True)
    assert [a.name for a in run(use.list(ALICE, "job2")).artifacts] == ["summary.json"]

    async def read() -> bytes:
        return b"".join([chunk.data async for chunk in use.read(ALICE, "job2", "summary.json")])

    assert run(read()) == b'{"mean": 1}'
    found = run(use.download(ALICE, "job2", "summary.json", True))
    assert found == Redirect(f"https://objects.example/{SUMMARY}?signature=x")
    viewer = Principal("alice", shared_job="job2")
    assert isinstance(run(use.download(viewer, "job2", "summary.json", False)), Stream)
    assert refused(use.list(ALICE, "job1")) == Code.NOT_FOUND
