"""Studies against a running job store: 10,000 points queued in one transaction and announced
by one event, idempotent submission, the limits, a study's state and counts as its points move,
a bulk cancel, the paired comparison of two points, paging the points (and only those that
changed), the result cache, share links of a study, and a crash right after the commit."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import grpc
import numpy as np
import psycopg
import pytest
from google.protobuf import struct_pb2

from services.jobstore.tests.conftest import (
    Client,
    EventReader,
    InProcessJobStore,
    JobStoreProcess,
    sha,
    status_of,
)
from simlab.common import events
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab_jobstore.settings import Settings

pytestmark = pytest.mark.integration

SAMPLES = 1000
BLOCK_SIZE = 250  # four blocks a point


def study_request(
    owner: str = "ana",
    count: int = 4,
    *,
    request_id: str = "",
    crn: bool = False,
    samples: list[int] | None = None,
    block_sizes: list[int] | None = None,
    title: str = "x sweep",
    **fields: Any,
) -> store_pb.CreateStudyRequest:
    """A sweep of x over 0..count-1 (each point of `samples`, SAMPLES by default, in blocks of
    `block_sizes`, BLOCK_SIZE by default), one shard a point; with `crn` every point has the
    study's seed, else its own."""
    samples = samples or [SAMPLES] * count
    block_sizes = block_sizes or [BLOCK_SIZE] * len(samples)
    spec = pb.StudySpec(
        model="pi",
        axes=[pb.StudyAxis(parameter="x", values=pb.StudyValues())],
        seed=7,
        crn=crn,
        shards=1,
        title=title,
    )
    points = []
    for x, (total, block_size) in enumerate(zip(samples, block_sizes, strict=True)):
        parameters = struct_pb2.Struct()
        parameters.update({"samples": total, "x": x})
        points.append(
            store_pb.StudyPointSpec(
                parameters=parameters,
                seed=7 if crn else 1000 + x,
                block_size=block_size,
                samples_total=total,
            )
        )
    return store_pb.CreateStudyRequest(
        owner=owner,
        request_id=request_id,
        spec=spec,
        model=fields.pop("model", "pi"),
        primary_output="estimate",
        swept=["x"],
        points=points,
        **fields,
    )


def create_study(client: Client, *args: Any, **fields: Any) -> store_pb.CreateStudyResponse:
    return client.call("CreateStudy", study_request(*args, **fields))


def get_study(client: Client, study_id: str, owner: str = "ana") -> pb.Study:
    return client.call("GetStudy", store_pb.GetStudyRequest(owner=owner, study_id=study_id))


def active_points(client: Client, study_id: str, *states: pb.JobState) -> list[pb.Job]:
    request = store_pb.ListActiveJobsRequest(states=states, study_id=study_id)
    return list(client.call("ListActiveJobs", request).jobs)


def list_points(
    client: Client, study_id: str, owner: str = "ana", since: datetime | None = None, **query: Any
) -> pb.ListStudyPointsResponse:
    request = store_pb.ListStudyPointsRequest(
        owner=owner, query=pb.ListStudyPointsRequest(study_id=study_id, **query)
    )
    if since is not None:
        request.changed_since.FromDatetime(since)
    return client.call("ListStudyPoints", request)


def cancel_study(client: Client, study_id: str, owner: str = "ana") -> pb.Study:
    return client.call("CancelStudy", store_pb.CancelStudyRequest(owner=owner, study_id=study_id))


def compare(
    client: Client, study_id: str, a: int, b: int, owner: str = "ana"
) -> pb.ComparePointsResponse:
    request = store_pb.ComparePointsRequest(
        owner=owner, query=pb.ComparePointsRequest(study_id=study_id, a=a, b=b)
    )
    return client.call("ComparePoints", request)


def run_point(client: Client, job_id: str, blocks: dict[int, list[float]]) -> pb.Job:
    """What the runner and a one-shard worker do for a point: launch, run, succeed."""
    client.report_state(job_id, pb.JOB_STATE_LAUNCHING)
    client.start_shard(job_id, 0)
    client.report_blocks(job_id, 0, blocks)
    assert client.finish_shard(job_id, 0).finalize
    return client.complete(job_id, {"estimate": 1.0})


def counts(study: pb.Study) -> tuple[int, int, int, int, int]:
    c = study.counts
    return c.queued, c.running, c.succeeded, c.failed, c.cancelled


# ---- creating -------------------------------------------------------------------------------


def test_10000_points_are_queued_at_once_with_one_event_and_cancelled_in_bulk(
    client: Client, stream: EventReader
) -> None:
    request = study_request(count=10_000)
    started = time.perf_counter()
    created = client.call("CreateStudy", request)
    took = time.perf_counter() - started
    print(f"\nCreateStudy of 10,000 points: {took * 1000:.0f} ms end to end")
    study = created.study
    assert created.created and study.points == 10_000
    assert (study.state, counts(study)) == (pb.STUDY_STATE_QUEUED, (10_000, 0, 0, 0, 0))
    assert (study.samples_done, study.samples_total) == (0, 10_000 * SAMPLES)
    assert (study.title, list(study.swept), study.spec.seed) == ("x sweep", ["x"], 7)

    (announced,) = stream.on("simlab.>", timeout=2)
    event = store_pb.StudyQueuedEvent.FromString(announced.data)
    assert announced.subject == events.study_queued_subject(study.study_id)
    assert (event.study_id, announced.msg_id) == (study.study_id, event.event_id)

    started = time.perf_counter()
    queued = active_points(client, study.study_id, pb.JOB_STATE_QUEUED)
    print(f"ListActiveJobs of the study: {(time.perf_counter() - started) * 1000:.0f} ms")
    assert [job.study_point for job in queued] == list(range(10_000))
    assert {job.study_id for job in queued} == {study.study_id}
    assert [job.parameters["x"] for job in queued[:3]] == [0, 1, 2]
    assert (queued[5].seed, queued[5].shards, queued[5].kind) == (1005, 1, pb.JOB_KIND_RUN)

    started = time.perf_counter()
    cancelled = cancel_study(client, study.study_id)
    print(f"CancelStudy of 10,000 queued points: {(time.perf_counter() - started) * 1000:.0f} ms")
    assert (cancelled.state, counts(cancelled)) == (pb.STUDY_STATE_CANCELLED, (0, 0, 0, 0, 10_000))
    assert cancelled.HasField("ended_at")
    assert active_points(client, study.study_id) == []
    # Each point's end is announced, for whoever watches it.
    ended = stream.on("simlab.jobs.>", at_least=10_000, timeout=30)
    assert len(ended) == 10_000 and all(m.subject.endswith(".cancelled") for m in ended)


def test_a_resubmitted_request_id_gives_the_same_study(client: Client, pg_uri: str) -> None:
    first = create_study(client, request_id="sweep-1")
    again = create_study(client, request_id="sweep-1")
    assert first.created and not again.created
    assert again.study.study_id == first.study.study_id
    with psycopg.connect(pg_uri) as conn:
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (4,)
    # request_id is unique per owner; another study under it is refused.
    assert create_study(client, "bob", request_id="sweep-1").created
    code, details = status_of(lambda: create_study(client, count=5, request_id="sweep-1"))
    assert code is grpc.StatusCode.ALREADY_EXISTS and "request_id 'sweep-1'" in details
    # As many points of the same parameter, but other values: another sweep, refused too.
    code, _ = status_of(
        lambda: create_study(client, request_id="sweep-1", samples=[SAMPLES * 2] * 4)
    )
    assert code is grpc.StatusCode.ALREADY_EXISTS


def test_a_points_bad_field_is_named_with_its_index(client: Client) -> None:
    code, details = status_of(lambda: create_study(client, count=2, block_sizes=[250, 0]))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details == "points[1].block_size: must be at least 1, got 0"
    request = study_request()
    request.spec.precision.CopyFrom(pb.Precision(rel_tol=0.1, confidence=2))
    code, details = status_of(lambda: client.call("CreateStudy", request))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("spec.precision.confidence: ")


@pytest.fixture
def limited(jobstore_env: Callable[..., dict[str, str]]) -> Iterator[Client]:
    env = jobstore_env(
        MAX_STUDY_POINTS="5", MAX_ACTIVE_STUDY_POINTS_PER_USER="8", MAX_ACTIVE_JOBS_PER_USER="1"
    )
    store = InProcessJobStore(Settings.from_env(env))
    yield store.client
    store.stop()


def test_the_points_of_a_study_and_of_a_user_are_bounded_naming_the_settings(
    limited: Client,
) -> None:
    code, details = status_of(lambda: create_study(limited, count=6))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details == (
        "points: at most 5 points in a study (SIMLAB_JOBSTORE_MAX_STUDY_POINTS), got 6"
    )

    first = create_study(limited, count=5).study
    code, details = status_of(lambda: create_study(limited, count=4))
    assert code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "SIMLAB_JOBSTORE_MAX_ACTIVE_STUDY_POINTS_PER_USER" in details
    assert "5 held, 4 more asked for" in details
    create_study(limited, count=3)
    # Points are not active jobs: a run of the user's own still fits its quota of one.
    limited.create(owner="ana")
    create_study(limited, "bob", count=5)
    # Ended points make room again.
    cancel_study(limited, first.study_id)
    create_study(limited, count=5)


# ---- reading ----------------------------------------------------------------------------------


def test_a_study_follows_its_points_from_queued_to_failed(client: Client) -> None:
    earlier = client.create(owner="bob")  # queued before the study: ahead of it
    study = create_study(client, count=3).study
    assert study.queue_ahead == 1
    later = create_study(client, "bob", count=2).study
    assert get_study(client, later.study_id, "bob").queue_ahead == 1 + 3
    p0, p1, p2 = active_points(client, study.study_id)

    client.report_state(p0.job_id, pb.JOB_STATE_LAUNCHING)
    running = get_study(client, study.study_id)
    assert (running.state, counts(running)) == (pb.STUDY_STATE_RUNNING, (2, 1, 0, 0, 0))
    assert running.updated_at.ToDatetime() > study.updated_at.ToDatetime()
    client.start_shard(p0.job_id, 0)
    client.report_blocks(p0.job_id, 0, {0: [1.0, 2.0], 1: [3.0]})
    assert get_study(client, study.study_id).samples_done == 3

    run_point(client, p1.job_id, {b: [1.0, 2.0] for b in range(4)})
    client.fail(p0.job_id, 0, message="boom")
    one_left = get_study(client, study.study_id)
    assert (one_left.state, counts(one_left)) == (pb.STUDY_STATE_RUNNING, (1, 0, 1, 1, 0))
    assert one_left.points_per_second == pytest.approx(2 / 60)
    assert one_left.eta_seconds == pytest.approx(1 / (2 / 60))
    assert not one_left.HasField("ended_at")
    # The earlier run still waits before the study's last queued point.
    assert one_left.queue_ahead == 1 and client.get(earlier.job_id).state == pb.JOB_STATE_QUEUED

    last = run_point(client, p2.job_id, {b: [1.0] for b in range(4)})
    ended = get_study(client, study.study_id)
    assert (ended.state, counts(ended)) == (pb.STUDY_STATE_FAILED, (0, 0, 2, 1, 0))
    assert ended.ended_at == last.updated_at == ended.updated_at
    assert (ended.eta_seconds, ended.queue_ahead) == (0, 0)
    assert ended.samples_done == 3 + 8 + 4


def test_a_study_of_another_owner_is_not_found(client: Client) -> None:
    study = create_study(client).study
    for call in (
        lambda: get_study(client, study.study_id, owner="bob"),
        lambda: cancel_study(client, study.study_id, owner="bob"),
        lambda: list_points(client, study.study_id, owner="bob"),
        lambda: compare(client, study.study_id, 0, 1, owner="bob"),
    ):
        assert status_of(call) == (grpc.StatusCode.NOT_FOUND, f"study {study.study_id} not found")
    assert get_study(client, study.study_id, owner="").study_id == study.study_id  # internal


def test_studies_list_newest_first_in_pages_and_jobs_leave_out_points(client: Client) -> None:
    made = [create_study(client, count=2, title=f"s{i}").study.study_id for i in range(3)]
    create_study(client, "bob")
    seen, token = [], ""
    while True:
        request = store_pb.ListStudiesRequest(
            owner="ana", query=pb.ListStudiesRequest(page_size=2, page_token=token)
        )
        page = client.call("ListStudies", request)
        seen += [study.study_id for study in page.studies]
        assert all(study.points == 2 for study in page.studies)
        token = page.next_page_token
        if not token:
            break
    assert seen == made[::-1]

    job = client.create(owner="ana")

    def listed(**query: Any) -> list[str]:
        request = store_pb.ListJobsRequest(owner="ana", query=pb.ListJobsRequest(**query))
        return [job.job_id for job in client.call("ListJobs", request).jobs]

    assert listed() == [job.job_id]
    assert len(listed(include_study_points=True)) == 1 + 3 * 2


def test_points_page_in_index_order_and_only_the_changed_ones_when_asked(client: Client) -> None:
    study = create_study(client, count=5).study
    seen, token = [], ""
    while True:
        page = list_points(client, study.study_id, page_size=2, page_token=token)
        seen += list(page.points)
        token = page.next_page_token
        if not token:
            break
    assert [point.index for point in seen] == [0, 1, 2, 3, 4]
    third = seen[2]
    assert (third.parameters["x"], third.seed, third.state) == (2, 1002, pb.JOB_STATE_QUEUED)
    assert third.progress.blocks_total == 4 and third.seq == 1

    since = datetime.now(UTC)
    client.report_state(third.job_id, pb.JOB_STATE_LAUNCHING)
    client.report_state(
        seen[4].job_id, pb.JOB_STATE_FAILED, error=pb.JobError(message="no nodes", source="runner")
    )
    changed = list_points(client, study.study_id, since=since).points
    assert [(p.index, p.state, p.seq) for p in changed] == [
        (2, pb.JOB_STATE_LAUNCHING, 2),
        (4, pb.JOB_STATE_FAILED, 2),
    ]
    assert changed[1].error == "no nodes" and changed[1].updated_at.ToDatetime(UTC) >= since
    assert list_points(client, study.study_id, since=datetime.now(UTC)).points == []
    code, details = status_of(lambda: list_points(client, study.study_id, page_token="nope"))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("page_token")


# ---- cancelling -------------------------------------------------------------------------------


def test_cancelling_a_mixed_study_ends_every_point(client: Client, stream: EventReader) -> None:
    study = create_study(client, count=4).study
    done, running, launching, queued = active_points(client, study.study_id)
    run_point(client, done.job_id, {b: [1.0] for b in range(4)})
    client.report_state(running.job_id, pb.JOB_STATE_LAUNCHING)
    client.start_shard(running.job_id, 0)
    client.report_state(launching.job_id, pb.JOB_STATE_LAUNCHING)

    cancelling = cancel_study(client, study.study_id)
    assert (cancelling.state, counts(cancelling)) == (pb.STUDY_STATE_RUNNING, (0, 2, 1, 0, 1))
    states = {job.study_point: job.state for job in active_points(client, study.study_id)}
    assert states == {1: pb.JOB_STATE_CANCELLING, 2: pb.JOB_STATE_CANCELLING}
    assert client.get(queued.job_id).state == pb.JOB_STATE_CANCELLED
    assert client.get(done.job_id).state == pb.JOB_STATE_SUCCEEDED
    # A running worker hears it; a late launch of the queued point changes nothing.
    assert client.report_blocks(running.job_id, 0, {0: [1.0]}).stop
    assert client.report_state(queued.job_id, pb.JOB_STATE_LAUNCHING).state == (
        pb.JOB_STATE_CANCELLED
    )
    # Its study announced it queued; its end is its own event.
    assert [e.event.job.state for e in stream.of(queued.job_id)] == [pb.JOB_STATE_CANCELLED]
    assert stream.of(running.job_id, at_least=3)[-1].event.job.state == pb.JOB_STATE_CANCELLING

    again = cancel_study(client, study.study_id)  # nothing more to do
    assert counts(again) == counts(cancelling)
    for job in (running, launching):  # the runner stopped their workers
        client.report_state(job.job_id, pb.JOB_STATE_CANCELLED, reason="workers stopped")
    ended = get_study(client, study.study_id)
    assert (ended.state, counts(ended)) == (pb.STUDY_STATE_CANCELLED, (0, 0, 1, 0, 3))
    assert ended.HasField("ended_at")


def test_cancelling_a_study_whose_points_all_ended_changes_nothing(client: Client) -> None:
    study = create_study(client, count=2).study
    for job in active_points(client, study.study_id):
        run_point(client, job.job_id, {b: [1.0] for b in range(4)})
    assert cancel_study(client, study.study_id).state == pb.STUDY_STATE_SUCCEEDED


# ---- comparing --------------------------------------------------------------------------------


def test_points_compare_by_their_paired_blocks(client: Client) -> None:
    """Common random numbers: both points saw the same block streams, b shifted by 0.5 and a
    little noise of its own; a short last block (1,000 samples in blocks of 300)."""
    rng = np.random.default_rng(3)
    sizes = [300, 300, 300, 100]
    shared = [rng.normal(10, 2, size) for size in sizes]
    a_data = {b: list(block) for b, block in enumerate(shared)}
    b_data = {
        b: list(block + 0.5 + rng.normal(0, 0.05, block.size)) for b, block in enumerate(shared)
    }
    study = create_study(client, crn=True, samples=[1000] * 3, block_sizes=[300] * 3).study
    a, b, queued = active_points(client, study.study_id)
    assert a.progress.blocks_total == 4 and a.seed == b.seed == 7
    a_done = run_point(client, a.job_id, a_data)
    b_done = run_point(client, b.job_id, b_data)

    found = compare(client, study.study_id, 0, 1)
    a_means = np.array([np.mean(a_data[i]) for i in range(4)])
    b_means = np.array([np.mean(b_data[i]) for i in range(4)])
    d, w = b_means - a_means, np.array(sizes, dtype=float)
    difference = np.average(d, weights=w)
    assert found.difference == pytest.approx(difference, rel=1e-9)
    assert found.difference == pytest.approx(
        b_done.progress.estimate - a_done.progress.estimate, rel=1e-9
    )
    tau2 = np.sum(w * (d - difference) ** 2) / 3
    assert found.stderr == pytest.approx(np.sqrt(tau2 / w.sum()), rel=1e-9)
    cov = np.cov(a_means, b_means, aweights=w)
    assert found.correlation == pytest.approx(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
    assert found.stderr_independent == pytest.approx(
        np.hypot(a_done.progress.stderr, b_done.progress.stderr)
    )
    assert found.stderr < found.stderr_independent / 10
    assert (found.blocks, found.confidence) == (4, 0.95)
    assert found.half_width == pytest.approx(1.959964 * found.stderr, rel=1e-6)
    assert (found.a.index, found.b.index, found.b.job_id) == (0, 1, b.job_id)

    code, details = status_of(lambda: compare(client, study.study_id, 0, 2))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert details == "point 2 is QUEUED: only points that SUCCEEDED compare"
    code, details = status_of(lambda: compare(client, study.study_id, 0, 3))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("b: ")
    assert queued.study_point == 2


def test_points_with_fewer_than_two_blocks_in_common_do_not_compare(client: Client) -> None:
    study = create_study(client, count=2, samples=[250, 1000]).study
    short, full = active_points(client, study.study_id)
    run_point(client, short.job_id, {0: [1.0, 2.0]})
    run_point(client, full.job_id, {b: [1.0, 2.0] for b in range(4)})
    code, details = status_of(lambda: compare(client, study.study_id, 0, 1))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert details.startswith("points 0 and 1 have 1 block(s) in common")


# ---- the result cache ---------------------------------------------------------------------------


def test_a_point_that_matches_a_finished_run_reuses_it(client: Client, stream: EventReader) -> None:
    version = client.register("ana", "asian", sha("asian v1"), public=False).version
    source = client.create(
        owner="ana",
        model="asian",
        model_version=version,
        parameters={"samples": SAMPLES, "x": 1},
        seed=7,
        shards=1,
    )
    run_point(client, source.job_id, {b: [5.0, 6.0] for b in range(4)})

    study = create_study(client, count=3, crn=True, model="asian", model_version=version).study
    assert (study.state, counts(study)) == (pb.STUDY_STATE_QUEUED, (2, 0, 1, 0, 0))
    points = list_points(client, study.study_id).points
    hit = points[1]
    assert hit.state == pb.JOB_STATE_SUCCEEDED
    assert client.get(hit.job_id).cached_from == source.job_id
    # The hit is announced by its own event; the others by the study's.
    (event,) = stream.of(hit.job_id)
    assert event.event.job.state == pb.JOB_STATE_SUCCEEDED
    assert [job.study_point for job in active_points(client, study.study_id)] == [0, 2]
    assert len(stream.on(events.study_queued_subject(study.study_id))) == 1

    # Compared from the blocks of the run it reused.
    run_point(client, points[0].job_id, {b: [6.0, 7.0] for b in range(4)})
    found = compare(client, study.study_id, 1, 0)
    assert (found.difference, found.blocks) == (pytest.approx(1.0), 4)
    assert found.stderr == pytest.approx(0.0, abs=1e-12)


# ---- share links --------------------------------------------------------------------------------


def test_a_share_link_of_a_study_resolves_to_it(client: Client) -> None:
    study = create_study(client).study
    created = client.call(
        "CreateShareLink", store_pb.CreateShareLinkRequest(owner="ana", study_id=study.study_id)
    )
    assert (created.link.study_id, created.link.job_id) == (study.study_id, "")
    resolved = client.call(
        "ResolveShareToken", store_pb.ResolveShareTokenRequest(token=created.token)
    )
    assert resolved == store_pb.ResolveShareTokenResponse(owner="ana", study_id=study.study_id)
    listing = client.call(
        "ListShareLinks", store_pb.ListShareLinksRequest(owner="ana", study_id=study.study_id)
    )
    assert [link.link_id for link in listing.links] == [created.link.link_id]
    job = client.create(owner="ana")
    of_job = store_pb.ListShareLinksRequest(owner="ana", job_id=job.job_id)
    assert client.call("ListShareLinks", of_job).links == []

    both = store_pb.CreateShareLinkRequest(owner="ana", job_id=job.job_id, study_id=study.study_id)
    for request in (store_pb.CreateShareLinkRequest(owner="ana"), both):
        code, details = status_of(partial(client.call, "CreateShareLink", request))
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert details.startswith("job_id: set exactly one of job_id and study_id")
    bob = store_pb.CreateShareLinkRequest(owner="bob", study_id=study.study_id)
    assert status_of(lambda: client.call("CreateShareLink", bob))[0] is grpc.StatusCode.NOT_FOUND


def test_only_the_platform_calls_the_study_methods(
    client: Client, worker_token: Callable[[str], str]
) -> None:
    study = create_study(client).study
    point = active_points(client, study.study_id)[0]
    calls = {
        "CreateStudy": study_request(),
        "GetStudy": store_pb.GetStudyRequest(study_id=study.study_id),
        "ListStudyPoints": store_pb.ListStudyPointsRequest(
            query=pb.ListStudyPointsRequest(study_id=study.study_id)
        ),
        "CancelStudy": store_pb.CancelStudyRequest(study_id=study.study_id),
    }
    for method, request in calls.items():
        denied = partial(client.call, method, request, worker_token(point.job_id))
        assert status_of(denied)[0] is grpc.StatusCode.PERMISSION_DENIED, method
        anonymous = partial(client.call, method, request, None)
        assert status_of(anonymous)[0] is grpc.StatusCode.UNAUTHENTICATED, method


# ---- a crash ----------------------------------------------------------------------------------


def test_a_kill_right_after_the_commit_loses_no_point_and_announces_them_once(
    pg_uri: str,
    jobstore_env: Callable[..., dict[str, str]],
    start_process: Callable[..., JobStoreProcess],
    stream: EventReader,
) -> None:
    doomed = start_process(jobstore_env(FAULT="kill-after-commit"))
    with pytest.raises(grpc.RpcError):
        create_study(doomed.client, count=50, request_id="sweep")
    assert doomed.wait() == -9
    with psycopg.connect(pg_uri) as conn:
        ((study_id,),) = conn.execute("SELECT study_id FROM studies").fetchall()
    assert stream.on("simlab.>", timeout=0.5) == []  # committed, not yet published

    restarted = start_process(jobstore_env())
    (announced,) = stream.on("simlab.>")
    assert announced.subject == events.study_queued_subject(study_id)
    queued = active_points(restarted.client, study_id, pb.JOB_STATE_QUEUED)
    assert [job.study_point for job in queued] == list(range(50))
    # The caller retries and gets the study its first call made.
    retried = create_study(restarted.client, count=50, request_id="sweep")
    assert (retried.study.study_id, retried.created) == (study_id, False)
    assert counts(retried.study) == (50, 0, 0, 0, 0)
    assert restarted.terminate() == 0

    again = start_process(jobstore_env())
    assert len(active_points(again.client, study_id)) == 50
    assert len(stream.on("simlab.>", timeout=1)) == 1
