"""GetBundle and PutArtifacts: what a worker reads and writes through the job store instead of
holding object-store credentials (the job store's object store is a local directory here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from services.jobstore.tests.conftest import Client, mint, sha, status_of
from simlab.adapters.local_store import LocalDirectoryStore
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab_jobstore.core.artifacts import CHUNK_BYTES

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def job_with_bundle(client: Client, objects_dir: Path, bundle: bytes) -> pb.Job:
    """A run of a registered version whose bundle (these bytes) the gateway stored."""
    code_sha256 = sha(bundle.hex())
    LocalDirectoryStore(objects_dir).put_bytes(f"bundles/{code_sha256}.tar", bundle)
    client.register("ana", "asian", code_sha256)
    return client.create(model="asian", model_version=1)


def get_bundle(client: Client, job_id: str, token: str | None = None) -> list[Any]:
    request = store_pb.GetBundleRequest(job_id=job_id)
    if token is None:
        return list(client.worker_call("GetBundle", request))
    return list(client.call("GetBundle", request, token))


def put_artifacts(
    client: Client, job_id: str, messages: list[tuple[str, bytes]], token: str | None = None
) -> list[str]:
    def requests() -> Iterator[store_pb.PutArtifactsRequest]:
        for i, (name, data) in enumerate(messages):
            yield store_pb.PutArtifactsRequest(
                job_id=job_id if i == 0 else "", name=name, data=data
            )

    response = client.call("PutArtifacts", requests(), token or mint(job_id))
    return list(response.names)


def stored(objects_dir: Path, job_id: str) -> dict[str, bytes]:
    store = LocalDirectoryStore(objects_dir)
    found = {}
    for info in store.list(f"jobs/{job_id}"):
        with store.open(info.key) as f:
            found[info.key.removeprefix(f"jobs/{job_id}/")] = f.read()
    return found


def test_a_worker_gets_its_jobs_bundle_in_chunks(client: Client, objects_dir: Path) -> None:
    bundle = bytes(range(256)) * (10 * 1024) + b"tail"  # 2.5 MiB and a bit
    job = job_with_bundle(client, objects_dir, bundle)
    chunks = get_bundle(client, job.job_id)
    assert [len(chunk.data) for chunk in chunks] == [
        CHUNK_BYTES,
        CHUNK_BYTES,
        len(bundle) - 2 * MiB,
    ]
    assert [chunk.sha256 for chunk in chunks] == [job.code_sha256, "", ""]
    assert b"".join(chunk.data for chunk in chunks) == bundle


def test_a_registration_job_gets_the_pushed_bundle(client: Client, objects_dir: Path) -> None:
    LocalDirectoryStore(objects_dir).put_bytes(f"bundles/{sha('b')}.tar", b"")
    job = client.begin_registration("ana", "asian", sha("b")).job
    (chunk,) = get_bundle(client, job.job_id)
    assert (chunk.sha256, chunk.data) == (sha("b"), b"")


def test_a_bundle_is_only_for_its_jobs_worker(
    client: Client, objects_dir: Path, worker_token: Callable[[str], str]
) -> None:
    job = job_with_bundle(client, objects_dir, b"code")
    other = client.create()
    code, _ = status_of(lambda: get_bundle(client, job.job_id, worker_token(other.job_id)))
    assert code is grpc.StatusCode.PERMISSION_DENIED
    code, _ = status_of(lambda: get_bundle(client, job.job_id, "not-a-token"))
    assert code is grpc.StatusCode.UNAUTHENTICATED


def test_a_missing_bundle_or_a_job_without_code_is_said(client: Client) -> None:
    client.register("ana", "asian", sha("never stored"))
    job = client.create(model="asian", model_version=1)
    code, details = status_of(lambda: get_bundle(client, job.job_id))
    assert (code, details) == (grpc.StatusCode.NOT_FOUND, f"bundle {sha('never stored')} not found")
    legacy = client.create()
    code, details = status_of(lambda: get_bundle(client, legacy.job_id))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "no bundle" in details


def test_a_worker_commits_its_results_at_once(client: Client, objects_dir: Path) -> None:
    job = client.create()
    big = b"x" * (3 * MiB)
    names = put_artifacts(
        client,
        job.job_id,
        [
            ("summary.json", b'{"estimate": '),
            ("", b"3.14}"),
            ("plots/histogram.png", big[: 2 * MiB]),
            ("", big[2 * MiB :]),
            ("empty.txt", b""),
        ],
    )
    assert names == ["summary.json", "plots/histogram.png", "empty.txt"]
    assert stored(objects_dir, job.job_id) == {
        "summary.json": b'{"estimate": 3.14}',
        "plots/histogram.png": big,
        "empty.txt": b"",
    }
    assert (objects_dir / "jobs" / job.job_id / "manifest.json").is_file()


@pytest.mark.parametrize(
    "messages",
    [
        [("../escape", b"x")],
        [("/etc/passwd", b"x")],
        [("a//b", b"x")],
        [("a\\b", b"x")],
        [("manifest.json", b"x")],
        [("ok.txt", b"x"), ("ok.txt", b"y")],
        [("", b"data before a name")],
        [("ok.txt", b"x"), ("sub/../../up", b"y")],
    ],
)
def test_unsafe_or_malformed_artifacts_are_refused_and_nothing_is_stored(
    client: Client, objects_dir: Path, messages: list[tuple[str, bytes]]
) -> None:
    job = client.create()
    code, _ = status_of(lambda: put_artifacts(client, job.job_id, messages))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert stored(objects_dir, job.job_id) == {}


def test_artifacts_are_only_for_the_jobs_worker_while_it_runs(
    client: Client, objects_dir: Path, worker_token: Callable[[str], str]
) -> None:
    job, other = client.create(), client.create()
    code, _ = status_of(
        lambda: put_artifacts(client, job.job_id, [("a.txt", b"x")], worker_token(other.job_id))
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    client.fail(job.job_id, 0, message="boom")
    code, details = status_of(lambda: put_artifacts(client, job.job_id, [("a.txt", b"x")]))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "already FAILED" in details
    registration = client.begin_registration("ana", "asian", sha("v1")).job
    code, details = status_of(lambda: put_artifacts(client, registration.job_id, [("a", b"")]))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "registration" in details
    assert stored(objects_dir, job.job_id) == stored(objects_dir, registration.job_id) == {}
