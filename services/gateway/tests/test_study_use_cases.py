"""The study use cases with a fake job store: a submission is one CreateStudy of every point,
reads ask as the caller, WatchStudy pages its snapshot and then sends only what changed, and
a study's share link reads the study, its points and their runs, and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from services.gateway.tests.fakes import (
    FakeEvents,
    FakeJobStore,
    FakeLogs,
    FakeObjects,
    fake_models,
    fake_studies,
    toy_version,
)
from simlab.common.errors import Code, SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.auth import Principal
from simlab_gateway.core.downloads import Artifacts, Stream
from simlab_gateway.core.jobs import Jobs
from simlab_gateway.core.models import Models
from simlab_gateway.core.shares import ShareLinks
from simlab_gateway.core.streams import StreamLimits
from simlab_gateway.core.studies import StudyRequest
from simlab_gateway.core.study_use_cases import POLL_OVERLAP_S, Studies
from simlab_gateway.core.watch import JobFeeds

T = TypeVar("T")
ALICE = Principal("alice")
VIEWER = Principal("alice", shared_study="study1")


def run(call: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(call, 10))


def refusal(call: Coroutine[Any, Any, object]) -> SimlabError:
    with pytest.raises(SimlabError) as caught:
        run(call)
    return caught.value


def collect(feed: AsyncIterator[T]) -> list[T]:
    async def drain() -> list[T]:
        return [item async for item in feed]

    return run(drain())


def store_with_study(
    points: int = 3, owner: str = "alice", created: datetime | None = None
) -> FakeJobStore:
    """alice's study1 of toy@v1, running, its points at seq 1 (stamped `created` by the job
    store's clock, by default now); alice's job9 is no point."""
    created = created or datetime.now(UTC)
    store = FakeJobStore()
    store.add_model(toy_version(1))
    study = pb.Study(
        study_id="study1",
        owner=owner,
        spec=pb.StudySpec(model="toy"),
        model_version=1,
        swept=["scale"],
        points=points,
        state=pb.STUDY_STATE_RUNNING,
        counts=pb.StudyCounts(running=points),
    )
    store.add_study(
        owner,
        study,
        [pb.StudyPoint(index=i, job_id=f"p{i}", seq=1) for i in range(points)],
    )
    for point in store.points["study1"]:
        point.updated_at.FromDatetime(created)
    for i in range(points):
        store.add(owner, pb.Job(job_id=f"p{i}", study_id="study1", study_point=i, seq=1))
    store.add(owner, pb.Job(job_id="job9", seq=1))
    return store


def studies(store: FakeJobStore) -> Studies:
    return fake_studies(store, fake_models(store))


def toy_study(*scales: float, request_id: str = "") -> StudyRequest:
    axis = pb.StudyAxis(parameter="scale", values=pb.StudyValues())
    for scale in scales:
        axis.values.values.add(number_value=scale)
    spec = pb.StudySpec(model="toy", axes=[axis], seed=3)
    return StudyRequest(spec, {"samples": 500}, (tuple(scales),), request_id)


def test_a_study_is_stored_in_one_call_with_every_point_of_the_version_resolved_once() -> None:
    store = FakeJobStore()
    store.add_model(toy_version(1))
    store.add_model(toy_version(2))
    answer = run(studies(store).submit(ALICE, toy_study(1.0, 2.0, 3.0, request_id="r1")))
    assert answer.created and answer.study.points == 3
    assert store.calls.count("get_model") == 1 and store.calls.count("create_study") == 1
    [(owner, request_id, plan)] = store.study_plans
    assert (owner, request_id, plan.model, plan.model_version) == ("alice", "r1", "toy", 2)
    assert [p.parameters for p in plan.points] == [
        {"samples": 500, "scale": s} for s in (1.0, 2.0, 3.0)
    ]
    assert [(p.samples_total, p.block_size) for p in plan.points] == [(500, 100)] * 3


@pytest.mark.parametrize(
    ("study", "field"),
    [
        (StudyRequest(pb.StudySpec(model="nope"), {}, (), ""), "spec.model"),
        (StudyRequest(pb.StudySpec(model="toy@1"), {}, (), ""), "spec.model"),
        (toy_study(1.0, request_id="x" * 201), "request_id"),
        (toy_study(1.0, -1.0), "spec.axes[0].values[1]"),
    ],
)
def test_a_bad_study_is_refused_before_anything_is_stored(study: StudyRequest, field: str) -> None:
    store = FakeJobStore()
    store.add_model(toy_version(1))
    error = refusal(studies(store).submit(ALICE, study))
    assert (error.code, error.field) == (Code.INVALID_ARGUMENT, field)
    assert store.study_plans == []


def test_a_study_over_the_configured_number_of_points_is_refused_naming_the_spec() -> None:
    store = FakeJobStore()
    store.add_model(toy_version(1))
    use = Studies(store, fake_models(store), StreamLimits(2, "S"), 3, 8)
    study = toy_study(1.0, 2.0)
    samples = study.spec.axes.add(parameter="samples", values=pb.StudyValues())
    samples.values.values.add(number_value=500)
    samples.values.values.add(number_value=600)
    study = StudyRequest(study.spec, {}, (*study.values, (500, 600)), "")
    error = refusal(use.submit(ALICE, study))
    assert (error.code, error.field) == (Code.INVALID_ARGUMENT, "spec.axes")
    assert "2 x 2 = 4 points; a study has at most 3" in error.description


def test_reads_and_cancel_ask_as_the_caller_and_another_users_study_is_not_found() -> None:
    store = store_with_study()
    use = studies(store)
    assert run(use.get(ALICE, "study1")).study_id == "study1"
    assert [s.study_id for s in run(use.list_studies(ALICE, pb.ListStudiesRequest())).studies] == [
        "study1"
    ]
    points = run(use.points(ALICE, pb.ListStudyPointsRequest(study_id="study1", page_size=2)))
    assert [p.index for p in points.points] == [0, 1] and points.next_page_token
    compared = run(use.compare(ALICE, pb.ComparePointsRequest(study_id="study1", a=0, b=2)))
    assert (compared.a.index, compared.b.index) == (0, 2)
    assert run(use.cancel(ALICE, "study1")).state == pb.STUDY_STATE_CANCELLED
    bob = Principal("bob")
    for call in (
        use.get(bob, "study1"),
        use.cancel(bob, "study1"),
        use.points(bob, pb.ListStudyPointsRequest(study_id="study1")),
        use.compare(bob, pb.ComparePointsRequest(study_id="study1", a=0, b=1)),
    ):
        assert refusal(call).code == Code.NOT_FOUND


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda use: use.get(ALICE, "Study 1"), "study_id"),
        (lambda use: use.cancel(ALICE, "study.>"), "study_id"),
        (lambda use: use.points(ALICE, pb.ListStudyPointsRequest(study_id="*")), "study_id"),
        (
            lambda use: use.points(ALICE, pb.ListStudyPointsRequest(study_id="s", page_size=-1)),
            "page_size",
        ),
        (
            lambda use: use.points(
                ALICE, pb.ListStudyPointsRequest(study_id="s", page_size=10_001)
            ),
            "page_size",
        ),
        (
            lambda use: use.compare(ALICE, pb.ComparePointsRequest(study_id="s", a=-1, b=1)),
            "a",
        ),
        (lambda use: use.compare(ALICE, pb.ComparePointsRequest(study_id="s", a=2, b=2)), "b"),
        (
            lambda use: use.list_studies(ALICE, pb.ListStudiesRequest(page_token="x" * 600)),
            "page_token",
        ),
    ],
)
def test_bad_reads_are_refused_naming_the_field_before_the_store_is_asked(
    call: Callable[[Studies], Coroutine[Any, Any, object]], field: str
) -> None:
    store = store_with_study()
    store.calls.clear()
    error = refusal(call(studies(store)))
    assert (error.code, error.field) == (Code.INVALID_ARGUMENT, field)
    assert store.calls == [] and store.point_reads == []


def ended(store: FakeJobStore, state: pb.StudyState = pb.STUDY_STATE_SUCCEEDED) -> None:
    study = store.studies["alice", "study1"]
    study.state = state
    study.counts.CopyFrom(pb.StudyCounts(succeeded=study.points))
    study.ended_at.FromDatetime(datetime.now(UTC))


def changed(store: FakeJobStore, index: int, ago_s: float = 0.0) -> None:
    point = store.points["study1"][index]
    store.change_point("study1", point, datetime.now(UTC) - timedelta(seconds=ago_s))


class Watching:
    """A watch running in the background, its events as they arrive."""

    def __init__(self, feed: AsyncIterator[pb.StudyEvent]) -> None:
        self.events: list[pb.StudyEvent] = []
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._read(feed))

    async def _read(self, feed: AsyncIterator[pb.StudyEvent]) -> None:
        async for event in feed:
            self.events.append(event)
            self.arrived.set()

    async def until(self, count: int) -> None:
        while len(self.events) < count:
            self.arrived.clear()
            await self.arrived.wait()


def test_watch_pages_the_snapshot_then_sends_only_changed_points_until_the_study_ends() -> None:
    store = store_with_study(points=2500)
    use = studies(store)

    async def scenario() -> list[pb.StudyEvent]:
        watching = Watching(use.watch(ALICE, "study1"))
        await watching.until(3)
        changed(store, 5)
        changed(store, 2400)
        await watching.until(4)
        # Nothing changes for several polls: nothing is sent (the overlap reads 5 and 2400 again).
        await asyncio.sleep(0.1)
        assert len(watching.events) == 4
        # A change stamped before the last poll (its transaction committed after it) is found.
        changed(store, 9, ago_s=3)
        await watching.until(5)
        ended(store)
        changed(store, 7)
        await watching.task
        return watching.events

    events = run(scenario())
    snapshot, rest = events[:3], events[3:]
    assert [(e.snapshot, len(e.points)) for e in snapshot] == [
        (True, 1000),
        (True, 1000),
        (True, 500),
    ]
    assert [p.index for e in snapshot for p in e.points] == list(range(2500))
    assert all(e.study.state == pb.STUDY_STATE_RUNNING for e in snapshot)
    assert [(e.snapshot, [(p.index, p.seq) for p in e.points]) for e in rest] == [
        (False, [(5, 2), (2400, 2)]),
        (False, [(9, 2)]),
        (False, [(7, 2)]),
    ]
    assert rest[-1].study.state == pb.STUDY_STATE_SUCCEEDED
    # Each poll asks for what changed since the newest change seen, minus the overlap.
    polls = [since for _, _, since in store.point_reads if since is not None]
    assert len(polls) >= 3 and polls == sorted(polls)
    # The last poll came before point 7's change, the one that ended the watch.
    seen = [p.updated_at.ToDatetime(UTC) for p in store.points["study1"] if p.index != 7]
    assert polls[-1] == max(seen) - timedelta(seconds=POLL_OVERLAP_S)


def test_watch_finds_changes_stamped_by_a_job_store_clock_far_behind_the_gateways() -> None:
    # The job store's clock is an hour behind: its stamps are all "an hour ago" here.
    behind = timedelta(hours=1)
    store = store_with_study(points=3, created=datetime.now(UTC) - behind)

    async def scenario() -> list[pb.StudyEvent]:
        watching = Watching(studies(store).watch(ALICE, "study1"))
        await watching.until(1)
        changed(store, 1, ago_s=behind.total_seconds())
        await watching.until(2)
        ended(store)
        changed(store, 2, ago_s=behind.total_seconds())
        await watching.task
        return watching.events

    events = run(scenario())
    assert [[(p.index, p.seq) for p in e.points] for e in events[1:]] == [[(1, 2)], [(2, 2)]]


def test_watching_an_ended_study_sends_its_snapshot_and_ends() -> None:
    store = store_with_study(points=3)
    ended(store, pb.STUDY_STATE_FAILED)
    events = collect(studies(store).watch(ALICE, "study1"))
    assert [(e.snapshot, len(e.points), e.study.state) for e in events] == [
        (True, 3, pb.STUDY_STATE_FAILED)
    ]


def test_a_cancelled_study_is_watched_until_its_last_run_has_stopped() -> None:
    store = store_with_study(points=2)
    study = store.studies["alice", "study1"]
    study.state = pb.STUDY_STATE_CANCELLED
    study.counts.CopyFrom(pb.StudyCounts(running=1, cancelled=1))

    async def scenario() -> list[pb.StudyEvent]:
        watching = Watching(studies(store).watch(ALICE, "study1"))
        await watching.until(1)
        await asyncio.sleep(0.05)
        assert not watching.task.done()
        ended(store, pb.STUDY_STATE_CANCELLED)
        changed(store, 1)
        await watching.task
        return watching.events

    events = run(scenario())
    assert [p.index for p in events[-1].points] == [1]
    assert events[-1].study.HasField("ended_at")


def test_a_watch_counts_toward_the_stream_limit_and_a_closed_one_frees_its_slot() -> None:
    store = store_with_study()
    use = studies(store)

    async def scenario() -> None:
        first, second = use.watch(ALICE, "study1"), use.watch(ALICE, "study1")
        await anext(first)
        await anext(second)
        assert use.limits.open_streams(ALICE) == 2
        with pytest.raises(SimlabError) as caught:
            await anext(use.watch(ALICE, "study1"))
        assert caught.value.code == Code.RESOURCE_EXHAUSTED
        # A share link's viewers count apart from the owner.
        viewer = use.watch(VIEWER, "study1")
        await anext(viewer)
        # A client that goes away closes its stream: the poll stops and the slot is free.
        for feed in (first, second, viewer):
            await feed.aclose()
        assert use.limits.open_streams(ALICE) == use.limits.open_streams(VIEWER) == 0
        reads = len(store.point_reads)
        await asyncio.sleep(0.05)
        assert len(store.point_reads) == reads

    run(scenario())


# ---- share links of a study -------------------------------------------------------------


def everything(store: FakeJobStore) -> tuple[Studies, Jobs, JobFeeds, Artifacts, Models]:
    objects = FakeObjects({"jobs/p1/summary.json": b"{}", "jobs/job9/summary.json": b"{}"})
    models = fake_models(store, objects)
    feeds = JobFeeds(store, FakeEvents(store.calls), FakeLogs(), objects, StreamLimits(5, "S"))
    return (
        fake_studies(store, models),
        Jobs(store, models, 8),
        feeds,
        Artifacts(store, objects, False),
        models,
    )


def test_a_study_share_link_reads_the_study_and_the_runs_of_its_points() -> None:
    store = store_with_study()
    store.studies["alice", "study1"].state = pb.STUDY_STATE_SUCCEEDED
    store.studies["alice", "study1"].ended_at.FromDatetime(datetime.now(UTC))
    store.jobs["alice", "p1"].state = pb.JOB_STATE_SUCCEEDED
    use, jobs, feeds, artifacts, models = everything(store)
    assert run(use.get(VIEWER, "study1")).study_id == "study1"
    assert len(run(use.points(VIEWER, pb.ListStudyPointsRequest(study_id="study1"))).points) == 3
    assert collect(use.watch(VIEWER, "study1"))[0].snapshot
    run(use.compare(VIEWER, pb.ComparePointsRequest(study_id="study1", a=0, b=1)))
    assert run(jobs.get(VIEWER, "p1")).study_id == "study1"
    run(jobs.progress_history(VIEWER, "p1"))
    assert [e.job.job_id for e in collect(feeds.watch(VIEWER, "p1", after_seq=0))] == ["p1"]
    assert [a.name for a in run(artifacts.list(VIEWER, "p1")).artifacts] == ["summary.json"]
    download = run(artifacts.download(VIEWER, "p1", "summary.json", may_redirect=False))
    assert isinstance(download, Stream)
    download.handle.close()
    # The model its points run, as a run's link sees its run's.
    assert run(models.get(VIEWER, "toy@v1")).version == 1
    assert [m.name for m in run(models.visible(VIEWER))] == ["toy"]


def test_a_study_share_link_reads_no_other_run_or_study_and_changes_nothing() -> None:
    store = store_with_study()
    store.add_study("alice", pb.Study(study_id="study2", owner="alice"), [])
    use, jobs, feeds, artifacts, _ = everything(store)
    denied = [
        # Another run of the owner's, and one that does not exist: the same answer.
        jobs.get(VIEWER, "job9"),
        jobs.get(VIEWER, "nope"),
        jobs.progress_history(VIEWER, "job9"),
        artifacts.list(VIEWER, "job9"),
        artifacts.download(VIEWER, "job9", "summary.json", may_redirect=False),
        use.get(VIEWER, "study2"),
        use.points(VIEWER, pb.ListStudyPointsRequest(study_id="study2")),
        # Reading is all it does.
        use.cancel(VIEWER, "study1"),
        use.submit(VIEWER, toy_study(1.0)),
        use.list_studies(VIEWER, pb.ListStudiesRequest()),
        jobs.cancel(VIEWER, "p1"),
        jobs.list(VIEWER, pb.ListJobsRequest()),
        jobs.submit(VIEWER, _submission()),
        ShareLinks(store).create(VIEWER, pb.CreateShareLinkRequest(study_id="study1")),
    ]
    for call in denied:
        error = refusal(call)
        assert error.code == Code.PERMISSION_DENIED, error
    for feed in (feeds.watch(VIEWER, "job9", after_seq=0), use.watch(VIEWER, "study2")):
        with pytest.raises(SimlabError) as caught:
            collect(feed)
        assert caught.value.code == Code.PERMISSION_DENIED
    assert refusal(jobs.get(VIEWER, "job9")).message == (
        "this share link is for study study1 and its points only"
    )


def test_a_run_share_link_reads_no_study_not_even_its_runs() -> None:
    store = store_with_study()
    use = studies(store)
    run_link = Principal("alice", shared_job="p1")
    for call in (
        use.get(run_link, "study1"),
        use.points(run_link, pb.ListStudyPointsRequest(study_id="study1")),
    ):
        assert refusal(call).code == Code.PERMISSION_DENIED


def test_share_links_of_a_study_are_created_and_listed_through_the_job_store() -> None:
    store = store_with_study()
    shares = ShareLinks(store)
    created = run(shares.create(ALICE, pb.CreateShareLinkRequest(study_id="study1")))
    assert created.link.study_id == "study1"
    listed = run(shares.list(ALICE, pb.ListShareLinksRequest(study_id="study1")))
    assert [link.study_id for link in listed.links] == ["study1"]
    assert refusal(
        shares.create(Principal("bob"), pb.CreateShareLinkRequest(study_id="study1"))
    ).code == (Code.NOT_FOUND)
    both = pb.CreateShareLinkRequest(job_id="p1", study_id="study1")
    assert refusal(shares.create(ALICE, both)).field == "study_id"
    assert refusal(shares.list(ALICE, pb.ListShareLinksRequest(study_id="a b"))).field == (
        "study_id"
    )


def _submission() -> Any:
    from simlab_gateway.core.jobs import Submission

    return Submission("toy", {"scale": 1.0}, 1, 1, "")
