"""The state machine: forward steps apply, duplicates and late reports are ignored, jumps that
cannot happen are refused, and no applied step ever goes backwards."""

from __future__ import annotations

import itertools

import pytest

from simlab_jobstore.core.states import JobState, Verdict, decide

S = JobState
ORDER = [S.QUEUED, S.LAUNCHING, S.RUNNING, S.CANCELLING]


def progress_rank(state: JobState) -> int:
    return ORDER.index(state) if state in ORDER else len(ORDER)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.QUEUED, S.LAUNCHING),
        (S.LAUNCHING, S.RUNNING),
        (S.QUEUED, S.RUNNING),
        (S.RUNNING, S.SUCCEEDED),
        *[(state, S.FAILED) for state in (S.QUEUED, S.LAUNCHING, S.RUNNING)],
        *[(state, S.CANCELLING) for state in (S.QUEUED, S.LAUNCHING, S.RUNNING)],
        (S.CANCELLING, S.CANCELLED),
    ],
)
def test_forward_steps_apply(current: JobState, target: JobState) -> None:
    assert decide(current, target) is Verdict.APPLY


@pytest.mark.parametrize("state", list(JobState))
def test_a_duplicate_report_is_ignored(state: JobState) -> None:
    assert decide(state, state) is Verdict.IGNORE


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.LAUNCHING, S.QUEUED),
        (S.RUNNING, S.LAUNCHING),
        (S.CANCELLING, S.RUNNING),
        (S.SUCCEEDED, S.RUNNING),
        (S.FAILED, S.LAUNCHING),
        (S.CANCELLED, S.RUNNING),
        # A job ends once: the first end wins.
        (S.SUCCEEDED, S.FAILED),
        (S.FAILED, S.CANCELLED),
        (S.CANCELLED, S.FAILED),
        # Decided: a failure during CANCELLING leaves the job to end CANCELLED.
        (S.CANCELLING, S.FAILED),
    ],
)
def test_a_late_report_is_ignored(current: JobState, target: JobState) -> None:
    assert decide(current, target) is Verdict.IGNORE


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.QUEUED, S.SUCCEEDED),
        (S.LAUNCHING, S.SUCCEEDED),
        (S.RUNNING, S.CANCELLED),
        (S.QUEUED, S.CANCELLED),
        # Decided: CompleteJob during CANCELLING is refused.
        (S.CANCELLING, S.SUCCEEDED),
        (S.FAILED, S.SUCCEEDED),
        (S.CANCELLED, S.SUCCEEDED),
        # Cancelling a finished job.
        (S.SUCCEEDED, S.CANCELLING),
        (S.FAILED, S.CANCELLING),
    ],
)
def test_an_impossible_jump_is_refused(current: JobState, target: JobState) -> None:
    assert decide(current, target) is Verdict.REFUSE


@pytest.mark.parametrize(("current", "target"), list(itertools.product(JobState, JobState)))
def test_an_applied_step_always_moves_forward(current: JobState, target: JobState) -> None:
    if decide(current, target) is Verdict.APPLY:
        assert progress_rank(target) > progress_rank(current)


@pytest.mark.parametrize("end", [S.SUCCEEDED, S.FAILED, S.CANCELLED])
def test_nothing_leaves_an_ended_job(end: JobState) -> None:
    assert all(decide(end, target) is not Verdict.APPLY for target in JobState)
