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


# ---- studies: each study is a stream of its user's, the user's standalone jobs another ----


def enqueue_study(scheduler: FairScheduler, study: str, user: str, points: int) -> None:
    for point in range(points):
        scheduler.enqueue(f"{study}.{point}", user, 1, study, point)


def run_all(scheduler: FairScheduler) -> list[str]:
    """Every waiting job, in the order they start when each ends before the next starts."""
    order: list[str] = []
    while batch := started(scheduler):
        order += batch
        for job_id in batch:
            scheduler.release(job_id)
    return order


def test_two_studies_of_one_user_interleave() -> None:
    scheduler = FairScheduler(max_workers=1, max_workers_per_user=1)
    enqueue_study(scheduler, "s1", "ana", 3)
    enqueue_study(scheduler, "s2", "ana", 2)
    assert run_all(scheduler) == ["s1.0", "s2.0", "s1.1", "s2.1", "s1.2"]


def test_a_study_submitted_later_interleaves_from_its_first_point_on() -> None:
    scheduler = FairScheduler(max_workers=2, max_workers_per_user=2)
    enqueue_study(scheduler, "s1", "ana", 100)
    assert started(scheduler) == ["s1.0", "s1.1"]
    enqueue_study(scheduler, "s2", "ana", 100)
    scheduler.release("s1.0")
    assert started(scheduler) == ["s2.0"]
    scheduler.release("s1.1")
    assert started(scheduler) == ["s1.2"]
    scheduler.release("s2.0")
    assert started(scheduler) == ["s2.1"]


def test_a_run_submitted_after_a_big_study_starts_before_its_remaining_points() -> None:
    scheduler = FairScheduler(max_workers=2, max_workers_per_user=2)
    enqueue_study(scheduler, "big", "ana", 10_000)
    assert started(scheduler) == ["big.0", "big.1"]
    scheduler.enqueue("single", "ana", 1)
    assert "all 2 workers are in use" in scheduler.why_waiting("single")
    scheduler.release("big.0")
    assert started(scheduler) == ["single"]
    scheduler.release("big.1")
    scheduler.release("single")
    assert started(scheduler) == ["big.2", "big.3"]


def test_the_users_standalone_jobs_are_one_stream_first_in_first_out() -> None:
    scheduler = FairScheduler(max_workers=1, max_workers_per_user=1)
    enqueue_study(scheduler, "s", "ana", 3)
    for job_id in ("r0", "r1"):
        scheduler.enqueue(job_id, "ana", 1)
    assert run_all(scheduler) == ["s.0", "r0", "s.1", "r1", "s.2"]


def test_users_alternate_whatever_their_studies() -> None:
    scheduler = FairScheduler(max_workers=1, max_workers_per_user=1)
    enqueue_study(scheduler, "a1", "ana", 3)
    enqueue_study(scheduler, "a2", "ana", 3)
    enqueue_study(scheduler, "b1", "bob", 3)
    scheduler.enqueue("cy", "cy", 1)
    # Each user has a turn in three; within ana's turns, her two studies alternate.
    assert run_all(scheduler) == [
        *("a1.0", "b1.0", "cy"),
        *("a2.0", "b1.1"),
        *("a1.1", "b1.2"),
        *("a2.1", "a1.2", "a2.2"),
    ]


def test_the_caps_hold_for_study_points() -> None:
    scheduler = FairScheduler(max_workers=8, max_workers_per_user=3)
    for point in range(20):
        scheduler.enqueue(f"a.{point}", "ana", 2, "a", point)
    enqueue_study(scheduler, "b", "bob", 20)
    # ana's points run 2 shards each: one fits her cap of 3; bob's take his 3.
    assert started(scheduler) == ["a.0", "b.0", "b.1", "b.2"]
    assert (scheduler.in_use, scheduler.in_use_by("ana"), scheduler.in_use_by("bob")) == (5, 2, 3)
    assert "ana's jobs use all 3 workers" in scheduler.why_waiting("a.1")
    scheduler.release("b.0")
    assert started(scheduler) == ["b.3"]
    scheduler.release("a.0")
    assert started(scheduler) == ["a.1"]
    assert (scheduler.in_use_by("ana"), scheduler.in_use_by("bob")) == (2, 3)


def test_the_global_cap_holds_for_study_points_and_a_big_point_is_not_overtaken() -> None:
    scheduler = FairScheduler(max_workers=4, max_workers_per_user=4)
    enqueue_study(scheduler, "a", "ana", 3)
    scheduler.enqueue("b.0", "bob", 4, "b", 0)
    enqueue_study(scheduler, "c", "cy", 3)
    assert started(scheduler) == ["a.0"]
    # bob's point waits for all 4 workers: nobody after him starts meanwhile.
    assert started(scheduler) == []
    scheduler.release("a.0")
    assert started(scheduler) == ["b.0"]
    scheduler.release("b.0")
    assert started(scheduler) == ["c.0", "a.1", "c.1", "a.2"]
    assert scheduler.in_use == 4


def test_a_studys_points_start_in_index_order_whatever_order_they_came_in() -> None:
    scheduler = FairScheduler(max_workers=1, max_workers_per_user=1)
    for point in (3, 0, 2, 1):
        scheduler.enqueue(f"s.{point}", "ana", 1, "s", point)
    assert run_all(scheduler) == ["s.0", "s.1", "s.2", "s.3"]


def test_cancelled_points_leave_the_line_and_an_emptied_study_leaves_its_users_turns() -> None:
    scheduler = FairScheduler(max_workers=1, max_workers_per_user=1)
    enqueue_study(scheduler, "s1", "ana", 10_000)
    enqueue_study(scheduler, "s2", "ana", 2)
    assert started(scheduler) == ["s1.0"]
    for point in range(1, 10_000, 2):
        scheduler.release(f"s1.{point}")  # cancelled while they wait
    assert scheduler.waiting == 4_999 + 2
    scheduler.release("s1.0")
    assert started(scheduler) == ["s2.0"]
    for point in range(2, 10_000, 2):
        scheduler.release(f"s1.{point}")
    assert not scheduler.knows("s1.2")
    assert started(scheduler) == []  # s2.0 still runs
    scheduler.release("s2.0")
    assert run_all(scheduler) == ["s2.1"]
    assert (scheduler.waiting, scheduler.in_use) == (0, 0)


def test_a_study_point_put_back_is_first_in_line_again() -> None:
    scheduler = FairScheduler(max_workers=2, max_workers_per_user=2)
    enqueue_study(scheduler, "s", "ana", 3)
    scheduler.enqueue("r", "ana", 1)
    admitted = scheduler.admit()
    assert admitted == [Admission("s.0", "ana", 1, 1, "s", 0), Admission("r", "ana", 1, 1)]
    for admission in reversed(admitted):
        scheduler.put_back(admission)
    assert started(scheduler) == ["s.0", "r"]
