"""The fair scheduler alone: caps on running shards (global and per user), FIFO per user,
round-robin across users, large jobs, cancellations, restarts and the reasons it gives."""

from __future__ import annotations

import pytest

from simlab_runner.core.scheduler import Admission, FairScheduler


def started(scheduler: FairScheduler) -> list[str]:
    return [admission.job_id for admission in scheduler.admit()]


def test_the_global_cap_holds_and_jobs_start_as_others_end() -> None:
    scheduler = FairScheduler(max_workers=4, max_workers_per_user=4)
    for i in range(5):
        scheduler.enqueue(f"j{i}", "ana", 2)
    assert started(scheduler) == ["j0", "j1"]
    assert (scheduler.in_use, scheduler.waiting) == (4, 3)
    assert started(scheduler) == []
    scheduler.release("j1")
    assert started(scheduler) == ["j2"]
    scheduler.release("j0")
    scheduler.release("j2")
    assert started(scheduler) == ["j3", "j4"]
    assert scheduler.in_use == 4


def test_a_job_larger_than_the_cap_waits_for_all_of_it_then_runs_that_many_at_a_time() -> None:
    scheduler = FairScheduler(max_workers=4, max_workers_per_user=4)
    scheduler.enqueue("small", "ana", 1)
    scheduler.enqueue("big", "ana", 16)
    scheduler.enqueue("after", "ana", 1)
    assert scheduler.admit() == [Admission("small", "ana", 1, 1)]
    # FIFO: the big job is next and nothing passes it while it waits for room.
    assert started(scheduler) == []
    assert "its 16 shards will run 4 at a time" in scheduler.why_waiting("big")
    scheduler.release("small")
    assert scheduler.admit() == [Admission("big", "ana", 16, 4)]
    scheduler.release("big")
    assert started(scheduler) == ["after"]


def test_users_take_turns_and_each_users_jobs_start_in_order() -> None:
    scheduler = FairScheduler(max_workers=1, max_workers_per_user=1)
    for i in range(3):
        scheduler.enqueue(f"ana{i}", "ana", 1)
    for i in range(2):
        scheduler.enqueue(f"bob{i}", "bob", 1)
    scheduler.enqueue("cy0", "cy", 1)
    order = []
    while batch := started(scheduler):
        order += batch
        for job_id in batch:
            scheduler.release(job_id)
    assert order == ["ana0", "bob0", "cy0", "ana1", "bob1", "ana2"]


def test_a_user_at_their_cap_is_passed_over_and_keeps_their_turn() -> None:
    scheduler = FairScheduler(max_workers=5, max_workers_per_user=2)
    scheduler.enqueue("ana0", "ana", 2)
    scheduler.enqueue("ana1", "ana", 2)
    scheduler.enqueue("bob0", "bob", 1)
    assert started(scheduler) == ["ana0", "bob0"]
    assert "ana's jobs use all 2 workers a user may have" in scheduler.why_waiting("ana1")
    assert "SIMLAB_RUNNER_MAX_WORKERS_PER_USER" in scheduler.why_waiting("ana1")
    scheduler.enqueue("bob1", "bob", 1)
    # ana waits for her own cap; bob's next job fits the room left.
    assert started(scheduler) == ["bob1"]
    scheduler.release("ana0")
    assert started(scheduler) == ["ana1"]


def test_the_per_user_cap_bounds_a_large_job_of_one_user() -> None:
    scheduler = FairScheduler(max_workers=8, max_workers_per_user=3)
    scheduler.enqueue("big", "ana", 16)
    scheduler.enqueue("bob0", "bob", 16)
    assert scheduler.admit() == [Admission("big", "ana", 16, 3), Admission("bob0", "bob", 16, 3)]
    assert scheduler.in_use_by("ana") == 3


def test_the_reasons_name_their_settings() -> None:
    scheduler = FairScheduler(max_workers=3, max_workers_per_user=3)
    scheduler.enqueue("a", "ana", 2)
    scheduler.enqueue("big", "bob", 3)
    scheduler.enqueue("b", "bob", 1)
    assert started(scheduler) == ["a"]
    assert scheduler.why_waiting("big") == (
        "waiting for a worker: all 3 workers are in use (SIMLAB_RUNNER_MAX_WORKERS)"
    )
    # There is room for b, but big is first in line.
    assert scheduler.why_waiting("b") == (
        "waiting for a worker: earlier jobs wait for the 3 workers (SIMLAB_RUNNER_MAX_WORKERS)"
    )


def test_a_job_cancelled_while_it_waits_leaves_the_line() -> None:
    scheduler = FairScheduler(max_workers=1, max_workers_per_user=1)
    scheduler.enqueue("a", "ana", 1)
    scheduler.enqueue("b", "ana", 1)
    scheduler.enqueue("c", "bob", 1)
    assert started(scheduler) == ["a"]
    scheduler.release("b")
    scheduler.release("c")
    assert not scheduler.knows("b")
    scheduler.release("a")
    assert started(scheduler) == []
    assert scheduler.in_use == 0


def test_enqueueing_twice_changes_nothing() -> None:
    scheduler = FairScheduler(max_workers=1, max_workers_per_user=1)
    assert scheduler.enqueue("a", "ana", 1)
    assert not scheduler.enqueue("a", "ana", 1)
    assert started(scheduler) == ["a"]
    assert not scheduler.enqueue("a", "ana", 1)
    assert started(scheduler) == []


def test_jobs_found_running_after_a_restart_hold_their_slots() -> None:
    scheduler = FairScheduler(max_workers=4, max_workers_per_user=4)
    assert scheduler.hold("r", "ana", 3) == Admission("r", "ana", 3, 3)
    assert scheduler.hold("r", "ana", 3) == Admission("r", "ana", 3, 3)
    scheduler.enqueue("q", "bob", 2)
    assert started(scheduler) == []
    scheduler.release("r")
    assert started(scheduler) == ["q"]
    assert scheduler.running_jobs() == ["q"]


def test_a_job_put_back_is_first_in_line_again() -> None:
    scheduler = FairScheduler(max_workers=2, max_workers_per_user=2)
    for job_id, user in (("a", "ana"), ("b", "bob"), ("c", "ana")):
        scheduler.enqueue(job_id, user, 1)
    admitted = scheduler.admit()
    assert [a.job_id for a in admitted] == ["a", "b"]
    for admission in reversed(admitted):
        scheduler.put_back(admission)
    assert scheduler.in_use == 0
    assert started(scheduler) == ["a", "b"]


def test_the_caps_are_at_least_one() -> None:
    with pytest.raises(ValueError):
        FairScheduler(0, 1)
    assert FairScheduler(2, 8).max_workers_per_user == 2
