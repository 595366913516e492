"""The runner's logic over fakes of its ports: what it reports to the job store and asks of
the launcher, in which order, for events, launcher reports, shard exits and a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from services.runner.tests.fakes import (
    CANCELLED,
    CANCELLING,
    FAILED,
    LAUNCHING,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Call,
    FakeJobStore,
    FakeLauncher,
)
from simlab.common.errors import SimlabError
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.core.decisions import MAX_ATTEMPTS
from simlab_runner.core.ports import ShardExit, StudyQueued
from simlab_runner.core.runner import Runner
from simlab_runner.core.scheduler import Admission, FairScheduler

STOP_AND_FORGET_J1 = [("stop", "j1"), ("forget", "j1")]


def job(job_id: str, state: pb.JobState) -> pb.Job:
    return pb.Job(job_id=job_id, model="pi", shards=2, state=state)


def runner(
    store: FakeJobStore, launcher: FakeLauncher, scheduler: FairScheduler | None = None
) -> Runner:
    """A runner; unless told, its workers are as many as these tests ever need."""
    return Runner(store, launcher, scheduler or FairScheduler(100, 100))


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coroutine)


def event(job_id: str) -> pb.JobEvent:
    return pb.JobEvent(job_id=job_id)


# ---- events ----------------------------------------------------------------------------


def test_a_queued_job_is_recorded_launching_then_launched() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", QUEUED))
    run(runner(store, FakeLauncher(calls)).handle_event(event("j1")))
    assert calls == [
        ("report", "j1", "JOB_STATE_LAUNCHING", "launch recorded"),
        ("launch", "j1"),
    ]
    assert store.jobs["j1"].state == LAUNCHING


def test_a_redelivered_event_launches_again_without_a_second_record() -> None:
    """The launcher makes a second launch a no-op; the runner need not remember the first."""
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", QUEUED))
    subject = runner(store, FakeLauncher(calls))
    run(subject.handle_event(event("j1")))
    run(subject.handle_event(event("j1")))
    assert [c[0] for c in calls] == ["report", "launch", "launch"]


def test_a_job_cancelled_before_its_launch_was_recorded_is_not_launched() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", CANCELLING))
    subject = runner(store, FakeLauncher(calls))
    run(subject.enqueue([job("j1", QUEUED)]))  # it was queued when the event was read
    assert calls == []
    assert not subject.scheduler.knows("j1")


def test_a_launch_failure_fails_the_job_with_its_message_and_stops_what_started() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", QUEUED))
    launcher = FakeLauncher(calls, launch_error=RuntimeError("quota exceeded"))
    run(runner(store, launcher).handle_event(event("j1")))
    message = "could not start the workers: quota exceeded"
    assert calls[1:] == [
        ("launch", "j1"),
        ("report", "j1", "JOB_STATE_FAILED", message),
        ("stop", "j1"),
    ]
    assert store.jobs["j1"].state == FAILED
    assert (store.errors["j1"].message, store.errors["j1"].source) == (message, "launcher")


def test_a_failed_launch_of_a_job_that_ended_meanwhile_still_stops_its_workers() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", CANCELLED))
    launcher = FakeLauncher(calls, launch_error=RuntimeError("namespace is terminating"))
    admission = Admission("j1", "", 2, 2)
    run(runner(store, launcher).launch(job("j1", LAUNCHING), admission))  # refusal: no error
    assert calls[-1] == ("stop", "j1")
    assert store.jobs["j1"].state == CANCELLED


def test_a_failure_that_could_not_be_recorded_is_raised_for_the_event_to_come_again() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", LAUNCHING))
    launcher = FakeLauncher(calls, launch_error=RuntimeError("api server down"))
    store.unavailable = True
    with pytest.raises(SimlabError, match="restarting"):
        run(runner(store, launcher).handle_event(event("j1")))
    # Nothing is stopped before the failure is on record.
    assert calls == [("launch", "j1")]


def test_a_cancel_request_stops_the_workers_then_records_cancelled_then_forgets() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", CANCELLING))
    run(runner(store, FakeLauncher(calls)).handle_event(event("j1")))
    assert calls == [
        ("stop", "j1"),
        ("report", "j1", "JOB_STATE_CANCELLED", "workers stopped"),
        ("forget", "j1"),
    ]
    assert store.jobs["j1"].state == CANCELLED


@pytest.mark.parametrize("state", [RUNNING, SUCCEEDED, FAILED, CANCELLED])
def test_an_event_about_a_running_or_ended_job_changes_nothing(state: pb.JobState) -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", state))
    run(runner(store, FakeLauncher(calls)).handle_event(event("j1")))
    assert calls == []


def test_a_cache_hit_arrives_ended_and_is_left_alone() -> None:
    calls: list[Call] = []
    hit = pb.Job(job_id="j2", model="pi", shards=2, state=SUCCEEDED, cached_from="j1")
    store = FakeJobStore(calls, hit)
    scheduler = FairScheduler(100, 100)
    run(runner(store, FakeLauncher(calls), scheduler).handle_event(event("j2")))
    assert calls == []
    assert not scheduler.knows("j2")


# ---- what the launcher reports -----------------------------------------------------------


def test_a_failure_the_launcher_sees_fails_the_job_with_the_log_tail() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", RUNNING))
    run(runner(store, FakeLauncher(calls)).on_job_failure("j1", "image cannot be pulled", "tail"))
    assert calls == [("report", "j1", "JOB_STATE_FAILED", "image cannot be pulled"), ("stop", "j1")]
    error = store.errors["j1"]
    assert (error.source, error.log_tail) == ("launcher", "tail")


@pytest.mark.parametrize("state", [CANCELLING, SUCCEEDED, CANCELLED])
def test_a_launcher_failure_of_a_job_ending_or_ended_is_ignored(state: pb.JobState) -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", state))
    run(runner(store, FakeLauncher(calls)).on_job_failure("j1", "Job deleted", ""))
    assert calls == []


def test_a_crashed_shard_fails_the_job_and_the_finished_job_is_forgotten() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", RUNNING))
    exit_ = ShardExit("j1", 1, -11, "killed by SIGSEGV", "last words", 1)
    run(runner(store, FakeLauncher(calls)).on_shard_exit(exit_))
    message = "shard 1 killed by SIGSEGV"
    assert calls == [
        ("report", "j1", "JOB_STATE_FAILED", message),
        ("stop", "j1"),
        ("forget", "j1"),
    ]
    error = store.errors["j1"]
    assert (error.source, error.log_tail) == ("runner", "last words")


def test_a_finished_shard_makes_room_for_the_next_and_the_job_ends_when_it_has() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", RUNNING))
    subject = runner(store, FakeLauncher(calls))
    run(subject.on_shard_exit(ShardExit("j1", 0, 0, "exited with code 0", "", 1)))
    assert calls == [("launch", "j1")]
    calls.clear()
    store.jobs["j1"].state = SUCCEEDED  # the last shard finalized the job
    run(subject.on_shard_exit(ShardExit("j1", 1, 0, "exited with code 0", "", 1)))
    assert calls == [("forget", "j1")]


def test_a_shard_lost_while_nobody_watched_is_relaunched_then_given_up() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, job("j1", RUNNING))
    subject = runner(store, FakeLauncher(calls))
    lost = "process vanished while the runner was away"
    run(subject.on_shard_exit(ShardExit("j1", 0, None, lost, "", 1)))
    assert calls == [("launch", "j1")]
    calls.clear()
    run(subject.on_shard_exit(ShardExit("j1", 0, None, lost, "", MAX_ATTEMPTS)))
    message = f"shard 0 was lost {MAX_ATTEMPTS} times; giving up"
    assert calls == [
        ("report", "j1", "JOB_STATE_FAILED", message),
        ("stop", "j1"),
        ("forget", "j1"),
    ]


# ---- after a restart ---------------------------------------------------------------------


def test_reconcile_adopts_resumes_fails_the_lost_finishes_cancels_and_stops_orphans() -> None:
    calls: list[Call] = []
    store = FakeJobStore(
        calls,
        job("running", RUNNING),
        job("lost", RUNNING),
        job("launching", LAUNCHING),
        job("cancelling", CANCELLING),
        job("queued", QUEUED),
        job("ended", SUCCEEDED),
        job("orphan", CANCELLED),
    )
    gone = "Kubernetes Job simlab-lost was deleted while the runner was away"
    launcher = FakeLauncher(
        calls,
        live={"running": {0, 1}, "cancelling": {0}, "orphan": {1}},
        problems={"lost": gone},
    )
    run(runner(store, launcher).reconcile())
    # The workers found are watched again before the job store is asked what is active.
    assert calls[:2] == [("adopt",), ("active_jobs",)]
    assert calls[2:] == [
        ("resume", "running"),
        ("resume", "lost"),
        ("report", "lost", "JOB_STATE_FAILED", gone),
        ("stop", "lost"),
        ("resume", "launching"),
        ("stop", "cancelling"),
        ("report", "cancelling", "JOB_STATE_CANCELLED", "workers stopped"),
        ("forget", "cancelling"),
        ("stop", "orphan"),
        ("forget", "orphan"),
        # The queue is rebuilt from the job store, and what may start starts.
        ("report", "queued", "JOB_STATE_LAUNCHING", "launch recorded"),
        ("launch", "queued"),
    ]
    assert (store.errors["lost"].source, store.jobs["lost"].state) == ("runner", FAILED)
    assert store.jobs["running"].state == RUNNING


# ---- the fair share of workers -----------------------------------------------------------


def owned(job_id: str, owner: str, state: pb.JobState, shards: int = 2) -> pb.Job:
    return pb.Job(job_id=job_id, owner=owner, model="pi", shards=shards, state=state)


def test_queued_jobs_past_the_cap_wait_say_why_and_start_as_others_end() -> None:
    calls: list[Call] = []
    jobs = [owned(f"j{i}", "ana", QUEUED, shards=16) for i in range(3)]
    store = FakeJobStore(calls, *jobs)
    launcher = FakeLauncher(calls)
    subject = runner(store, launcher, FairScheduler(4, 4))
    for i in range(3):
        run(subject.handle_event(event(f"j{i}")))
    reason = (
        "waiting for a worker: all 4 workers are in use (SIMLAB_RUNNER_MAX_WORKERS);"
        " its 16 shards will run 4 at a time"
    )
    assert calls == [
        ("report", "j0", "JOB_STATE_LAUNCHING", "launch recorded"),
        ("launch", "j0"),
        ("report", "j1", "JOB_STATE_QUEUED", reason),
        ("report", "j2", "JOB_STATE_QUEUED", reason),
    ]
    assert launcher.parallelism == {"j0": 4}
    calls.clear()
    store.jobs["j0"].state = SUCCEEDED
    run(subject.on_shard_exit(ShardExit("j0", 15, 0, "exited with code 0", "", 1)))
    assert calls == [
        ("forget", "j0"),
        ("report", "j1", "JOB_STATE_LAUNCHING", "launch recorded"),
        ("launch", "j1"),
    ]


def test_a_job_cancelled_while_it_waits_is_never_launched() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, owned("a", "ana", QUEUED), owned("b", "ana", QUEUED))
    subject = runner(store, FakeLauncher(calls), FairScheduler(2, 2))
    run(subject.handle_event(event("a")))
    run(subject.handle_event(event("b")))
    store.jobs["b"].state = CANCELLING
    run(subject.handle_event(event("b")))
    assert not subject.scheduler.knows("b")
    store.jobs["a"].state = SUCCEEDED
    calls.clear()
    run(subject.release_ended())
    assert calls == [("forget", "a")]
    assert subject.scheduler.in_use == 0


def test_the_queue_is_rebuilt_oldest_first_after_a_restart_and_nothing_starts_twice() -> None:
    calls: list[Call] = []
    store = FakeJobStore(
        calls,
        owned("run", "ana", RUNNING),
        owned("old", "bob", QUEUED),
        owned("new", "ana", QUEUED),
    )
    store.jobs["old"].history.add(reason="waiting for a worker: ...")
    subject = runner(store, FakeLauncher(calls, live={"run": {0, 1}}), FairScheduler(2, 2))
    run(subject.reconcile())
    assert calls[2:] == [
        ("resume", "run"),
        # "old" said why it waits already; "new" says it now.
        (
            "report",
            "new",
            "JOB_STATE_QUEUED",
            "waiting for a worker: all 2 workers are in use (SIMLAB_RUNNER_MAX_WORKERS)",
        ),
    ]
    # The redelivered "queued" events change nothing.
    calls.clear()
    run(subject.handle_event(event("old")))
    run(subject.handle_event(event("new")))
    assert calls == []
    store.jobs["run"].state = SUCCEEDED
    run(subject.release_ended())
    assert calls == [
        ("forget", "run"),
        ("report", "old", "JOB_STATE_LAUNCHING", "launch recorded"),
        ("launch", "old"),
    ]


def test_a_start_the_job_store_could_not_record_waits_first_in_line() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, owned("a", "ana", QUEUED), owned("b", "bob", QUEUED))
    subject = runner(store, FakeLauncher(calls), FairScheduler(4, 4))
    subject.scheduler.enqueue("a", "ana", 2)
    subject.scheduler.enqueue("b", "bob", 2)
    store.unavailable = True
    with pytest.raises(SimlabError):
        run(subject.dispatch())
    assert (subject.scheduler.waiting, subject.scheduler.in_use) == (2, 0)
    store.unavailable = False
    run(subject.dispatch())
    assert [c[1] for c in calls if c[0] == "launch"] == ["a", "b"]


def test_the_workers_of_an_ended_job_are_given_to_waiting_jobs_once_its_processes_are_gone() -> (
    None
):
    calls: list[Call] = []
    store = FakeJobStore(calls, owned("a", "ana", RUNNING), owned("b", "bob", QUEUED))
    launcher = FakeLauncher(calls, live={"a": {0, 1}})
    subject = runner(store, launcher, FairScheduler(2, 2))
    run(subject.reconcile())
    store.jobs["a"].state = SUCCEEDED  # shard 1 finalized the job, and is exiting
    launcher.running["a"] = {1}
    calls.clear()
    run(subject.on_shard_exit(ShardExit("a", 0, 0, "exited with code 0", "", 1)))
    run(subject.release_ended())
    assert calls == [("forget", "a"), ("forget", "a")]
    launcher.running["a"] = set()
    calls.clear()
    run(subject.on_shard_exit(ShardExit("a", 1, 0, "exited with code 0", "", 1)))
    assert calls == [
        ("forget", "a"),
        ("report", "b", "JOB_STATE_LAUNCHING", "launch recorded"),
        ("launch", "b"),
    ]


# ---- studies -----------------------------------------------------------------------------


def point(study_id: str, index: int, state: pb.JobState = QUEUED, owner: str = "ana") -> pb.Job:
    return pb.Job(
        job_id=f"{study_id}.{index}",
        owner=owner,
        model="pi",
        shards=1,
        state=state,
        study_id=study_id,
        study_point=index,
    )


def launched(calls: list[Call]) -> list[str]:
    return [call[1] for call in calls if call[0] == "launch"]


def test_a_study_event_queues_the_studys_queued_points_once_in_index_order() -> None:
    calls: list[Call] = []
    points = [point("s", i) for i in (2, 0, 3, 1)]
    others = [point("s", 4, CANCELLING), point("other", 0), owned("single", "bob", RUNNING)]
    store = FakeJobStore(calls, *points, *others)
    subject = runner(store, FakeLauncher(calls), FairScheduler(2, 2))
    run(subject.handle_event(StudyQueued("s")))
    assert calls[0] == ("active_jobs", "s")
    assert launched(calls) == ["s.0", "s.1"]
    # The points that wait are not told why one by one: their study says it.
    assert [c for c in calls if c[0] == "report" and c[2] == "JOB_STATE_QUEUED"] == []
    assert (subject.scheduler.waiting, subject.scheduler.in_use) == (2, 2)
    calls.clear()
    run(subject.handle_event(StudyQueued("s")))  # redelivered
    assert calls == [("active_jobs", "s")]
    for i in range(4):
        store.jobs[f"s.{i}"].state = SUCCEEDED
        run(subject.release_ended())
    assert launched(calls) == ["s.2", "s.3"]
    assert not subject.scheduler.knows("other.0")


def test_a_queued_point_cancelled_before_its_launch_is_dropped_and_never_launched() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, *(point("s", i) for i in range(3)))
    subject = runner(store, FakeLauncher(calls), FairScheduler(1, 1))
    run(subject.handle_event(StudyQueued("s")))
    assert launched(calls) == ["s.0"]
    calls.clear()
    store.jobs["s.1"].state = CANCELLING
    run(subject.handle_event(event("s.1")))
    # Never launched, so there is nothing to stop.
    assert calls == [
        ("report", "s.1", "JOB_STATE_CANCELLED", "cancelled before it started"),
        ("forget", "s.1"),
    ]
    assert not subject.scheduler.knows("s.1")
    store.jobs["s.0"].state = SUCCEEDED
    run(subject.release_ended())
    assert launched(calls) == ["s.2"]


def test_the_cancelled_event_of_a_waiting_point_drops_it_without_a_call() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, *(point("s", i) for i in range(3)))
    subject = runner(store, FakeLauncher(calls), FairScheduler(1, 1))
    run(subject.handle_event(StudyQueued("s")))
    calls.clear()
    store.jobs["s.1"].state = CANCELLED
    run(subject.handle_event(pb.JobEvent(job_id="s.1", job=store.jobs["s.1"])))
    assert calls == []
    assert not subject.scheduler.knows("s.1")
    store.jobs["s.0"].state = SUCCEEDED
    run(subject.release_ended())
    assert launched(calls) == ["s.2"]


def test_points_that_ended_while_they_waited_give_their_worker_to_the_next_at_once() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, *(point("s", i) for i in range(4)))
    subject = runner(store, FakeLauncher(calls), FairScheduler(1, 1))
    run(subject.handle_event(StudyQueued("s")))
    # The study is cancelled; the runner hears of s.1 and s.2 only when they come up.
    for i in (1, 2):
        store.jobs[f"s.{i}"].state = CANCELLED
    store.jobs["s.0"].state = SUCCEEDED
    run(subject.release_ended())
    assert launched(calls) == ["s.0", "s.3"]
    assert subject.scheduler.running_jobs() == ["s.3"]


def test_a_study_queued_while_the_runner_was_away_is_queued_at_start() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, *(point("s", i) for i in range(3)), owned("single", "bob", QUEUED))
    subject = runner(store, FakeLauncher(calls), FairScheduler(2, 1))
    run(subject.reconcile())
    assert launched(calls) == ["s.0", "single"]
    # Only the standalone job would be told why it waits; the points are not.
    assert [c for c in calls if c[0] == "report" and c[2] == "JOB_STATE_QUEUED"] == []
    calls.clear()
    run(subject.handle_event(StudyQueued("s")))  # its event, read after the start
    assert calls == [("active_jobs", "s")]
    assert subject.scheduler.waiting == 2


def test_a_10000_point_study_launches_no_more_jobs_than_the_workers_allow() -> None:
    calls: list[Call] = []
    store = FakeJobStore(calls, *(point("big", i) for i in range(10_000)))
    subject = runner(store, FakeLauncher(calls), FairScheduler(8, 8))
    run(subject.handle_event(StudyQueued("big")))
    assert launched(calls) == [f"big.{i}" for i in range(8)]
    assert (subject.scheduler.waiting, subject.scheduler.in_use) == (9_992, 8)
    for i in range(3):
        store.jobs[f"big.{i}"].state = SUCCEEDED
    run(subject.release_ended())
    assert launched(calls) == [f"big.{i}" for i in range(11)]
