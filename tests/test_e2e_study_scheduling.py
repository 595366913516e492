"""End to end on the embedded stack with two workers: a study's points share the workers fairly
(a user's single run submitted after their large study starts before the study's remaining
points; two users' studies waiting together take turns), survive kill -9 of the runner and the
job store (every point ends exactly once, each shard started by one worker process), and a
cancelled study ends every point, queued and running, with no worker left."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest

import simlab
from simlab.client import Client
from simlab.common.errors import SimlabError
from simlab.devstack.stack import Stack
from simlab.handles import Study
from simlab.v1 import simulation_pb2 as pb
from tests.conftest import running_stack
from tests.test_e2e_fairness import ACTIVE, WorkerSampler, launched_at

pytestmark = pytest.mark.e2e
MAX_WORKERS = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(
        tmp_path_factory.mktemp("study-scheduling"), SIMLAB_RUNNER_MAX_WORKERS=str(MAX_WORKERS)
    )


@pytest.fixture(autouse=True)
def nothing_left_running(stack: Stack) -> Iterator[None]:
    """Each test starts with idle workers, even after one that failed."""
    yield
    for token in ("alice-token", "bob-token"):
        with Client(stack.url, token=token) as client:
            request = pb.ListJobsRequest(
                states=list(ACTIVE), page_size=1000, include_study_points=True
            )
            active = client.stub.ListJobs(request, metadata=client.metadata).jobs
            for job in active:
                with contextlib.suppress(SimlabError):
                    client.cancel(job.job_id)
            for job in active:
                client.wait(job.job_id, progress=False)


def slow_study(client: Client, points: int, seconds_per_block: float, **kwargs: Any) -> Study:
    """`points` runs of test_slow of 100-sample blocks, each a little slower than the last."""
    first = seconds_per_block
    return client.study(
        "test_slow",
        params={"samples": kwargs.pop("samples", 800)},
        sweep={"seconds_per_block": simlab.range(first, first + 0.001 * (points - 1), points)},
        **kwargs,
    )


def wait_until(study: Study, ready: Callable[[pb.Study], bool], timeout: float = 120) -> pb.Study:
    deadline = time.monotonic() + timeout
    while not ready(current := study.refresh().info):
        assert not current.HasField("ended_at"), f"ended while waiting: {current}"
        assert time.monotonic() < deadline, f"timed out waiting; study is {current}"
        time.sleep(0.1)
    return current


def jobs_of(client: Client, study: Study) -> list[pb.Job]:
    return [client.get(point.job_id) for point in study.points()]


@pytest.mark.timeout(300)
def test_a_single_run_after_a_large_study_starts_before_its_remaining_points(
    alice: Client,
) -> None:
    study = slow_study(alice, 8, 0.15, samples=1000)  # 1.5 s a point
    wait_until(study, lambda s: s.counts.running == MAX_WORKERS)
    single = alice.submit("test_slow", {"samples": 300, "seconds_per_block": 0.0})
    time.sleep(0.5)  # the runner has heard of it: what is queued now waits behind it
    remaining = [p.job_id for p in study.points() if p.state == pb.JOB_STATE_QUEUED]
    assert len(remaining) >= 4, "the study ran too fast for the test to mean anything"
    single_done = alice.wait(single.job_id, progress=False)
    assert single_done.state == pb.JOB_STATE_SUCCEEDED
    assert study.wait(progress=False).info.state == pb.STUDY_STATE_SUCCEEDED
    started = {job.job_id: launched_at(job) for job in jobs_of(alice, study)}
    assert launched_at(single_done) < min(started[job_id] for job_id in remaining)
    # Within the study, points start in index order.
    order = sorted(started, key=started.__getitem__)
    assert order == [p.job_id for p in study.points()]


@pytest.mark.timeout(300)
def test_two_users_studies_waiting_together_take_turns(
    client: Client, alice: Client, bob: Client
) -> None:
    # Every job here takes both workers: they run one at a time, in the order the runner chose.
    blocker = client.submit(
        "test_slow", {"samples": 800, "seconds_per_block": 0.5}, shards=MAX_WORKERS
    )
    for event in client.watch(blocker.job_id):
        if event.job.state != pb.JOB_STATE_QUEUED:
            break
    alices = slow_study(alice, 3, 0.1, samples=400, shards=MAX_WORKERS)
    bobs = slow_study(bob, 3, 0.1, samples=400, shards=MAX_WORKERS)
    assert client.get(blocker.job_id).state != pb.JOB_STATE_SUCCEEDED, "it ended too soon"
    assert alices.wait(progress=False).info.state == pb.STUDY_STATE_SUCCEEDED
    assert bobs.wait(progress=False).info.state == pb.STUDY_STATE_SUCCEEDED
    jobs = jobs_of(alice, alices) + jobs_of(bob, bobs)
    order = sorted(jobs, key=launched_at)
    assert [(job.owner, job.study_point) for job in order] == [
        ("alice", 0), ("bob", 0), ("alice", 1), ("bob", 1), ("alice", 2), ("bob", 2),
    ]  # fmt: skip


@pytest.mark.timeout(600)
def test_kill_9_of_the_runner_and_the_job_store_loses_no_point_and_starts_none_twice(
    stack: Stack, alice: Client
) -> None:
    running = slow_study(alice, 8, 0.1, seed=3)  # 0.8 s a point
    sampler = WorkerSampler(stack, {p.job_id for p in running.points()})
    try:
        mid = wait_until(running, lambda s: s.counts.succeeded >= 2 and s.counts.queued >= 2)
        stack.kill("runner")
        # Queued while the runner is down: found both by its StudyQueuedEvent and by the
        # runner's look at every queued job when it starts, and launched once.
        waiting = slow_study(alice, 3, 0.1, seed=4)
        sampler.job_ids |= {p.job_id for p in waiting.points()}
        stack.kill("jobstore")
        time.sleep(1)
        stack.start_service("jobstore")
        restarted_at = time.time()
        stack.start_service("runner")
        done = [running.wait(progress=False).info, waiting.wait(progress=False).info]
    finally:
        sampler.stop()
    print(f"at the kill: {mid.counts}")
    assert [s.state for s in done] == [pb.STUDY_STATE_SUCCEEDED] * 2, done
    assert [s.counts.succeeded for s in done] == [8, 3]
    jobs = jobs_of(alice, running) + jobs_of(alice, waiting)
    for job in jobs:
        states = [h.state for h in job.history]
        assert states.count(pb.JOB_STATE_LAUNCHING) == 1, job.history
        assert states.count(pb.JOB_STATE_RUNNING) == 1, job.history
        assert states[-1] == pb.JOB_STATE_SUCCEEDED and states.count(states[-1]) == 1
        assert job.progress.samples_done == job.progress.samples_total == 800
    # Points launched by the restarted runner ran in one worker process each. (A point running
    # at the kill keeps its worker; one that ends while the runner is down is relaunched and
    # finds its blocks done.)
    relaunched = {job.job_id for job in jobs if launched_at(job) > restarted_at}
    assert {p.job_id for p in waiting.points()} <= relaunched
    pids = {shard: p for shard, p in sampler.pids.items() if shard[0] in relaunched}
    assert {job_id for job_id, _ in pids} == relaunched, "the sampler missed workers"
    assert all(len(p) == 1 for p in pids.values()), pids
    assert sampler.most <= MAX_WORKERS


@pytest.mark.timeout(300)
def test_cancelling_a_study_ends_every_point_and_leaves_no_worker(alice: Client) -> None:
    # Point 0 is quick; the rest would run for minutes.
    study = alice.study(
        "test_slow",
        params={"samples": 100_000},
        sweep={"seconds_per_block": [0.0, 0.2, 0.21, 0.22, 0.23, 0.24]},
    )
    wait_until(study, lambda s: s.counts.succeeded == 1 and s.counts.running == MAX_WORKERS)
    cancelling = study.cancel().info
    assert cancelling.state in (pb.STUDY_STATE_RUNNING, pb.STUDY_STATE_CANCELLED)
    assert study.wait(progress=False).info.state == pb.STUDY_STATE_CANCELLED
    done = wait_until(study, lambda s: s.HasField("ended_at"), timeout=60)
    assert done.counts == pb.StudyCounts(succeeded=1, cancelled=5)
    points = study.points()
    assert [p.state for p in points] == [pb.JOB_STATE_SUCCEEDED] + [pb.JOB_STATE_CANCELLED] * 5
    job_ids = {p.job_id for p in points}
    deadline = time.monotonic() + 15
    while left := _workers_of(job_ids):
        assert time.monotonic() < deadline, f"workers left: {left}"
        time.sleep(0.2)


def _workers_of(job_ids: set[str]) -> list[int]:
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            worker = "simlab_worker" in process.cmdline()
            if worker and process.environ().get("SIMLAB_WORKER_JOB_ID") in job_ids:
                found.append(process.pid)
    return found
