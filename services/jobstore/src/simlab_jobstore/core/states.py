"""The job state machine, in one place:

    QUEUED -> LAUNCHING -> RUNNING -> SUCCEEDED | FAILED | CANCELLED

with CANCELLING between a cancel request and the processes being gone. Reports arrive late and
twice (retries, several shards, a restarted runner), so `decide` sorts every (current, target)
pair into APPLY (a step forward), IGNORE (a duplicate or late report: change nothing) or
REFUSE (a jump that cannot happen, e.g. success before anything ran)."""

from __future__ import annotations

import enum


class JobState(enum.Enum):
    QUEUED = "QUEUED"
    LAUNCHING = "LAUNCHING"
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class Verdict(enum.Enum):
    APPLY = "apply"
    IGNORE = "ignore"
    REFUSE = "refuse"


S = JobState
TERMINAL = frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED})
NOT_TERMINAL = frozenset(JobState) - TERMINAL
# A shard asked to start or report in one of these states should exit without more work.
STOPPING = TERMINAL | {S.CANCELLING}

_FORWARD: dict[JobState, frozenset[JobState]] = {
    # QUEUED -> RUNNING: a worker that starts proves the launch, even when the runner's
    # LAUNCHING report has not arrived yet (it is then late and ignored).
    S.QUEUED: frozenset({S.LAUNCHING, S.RUNNING, S.CANCELLING, S.FAILED}),
    S.LAUNCHING: frozenset({S.RUNNING, S.CANCELLING, S.FAILED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.CANCELLING, S.FAILED}),
    S.CANCELLING: frozenset({S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}

# How far along a state is; a report of an earlier state is late.
_RANK = {S.QUEUED: 0, S.LAUNCHING: 1, S.RUNNING: 2, S.CANCELLING: 3} | dict.fromkeys(TERMINAL, 4)


def decide(current: JobState, target: JobState) -> Verdict:
    if target in _FORWARD[current]:
        return Verdict.APPLY
    if target is current:
        return Verdict.IGNORE
    if current is S.CANCELLING and target is S.FAILED:
        # A worker failing while it is being cancelled is most likely the kill itself: the
        # job is left to end CANCELLED when the runner sees the processes gone.
        return Verdict.IGNORE
    if current in TERMINAL and target in (S.FAILED, S.CANCELLED):
        # A job ends once: a later failure or cancellation report changes nothing.
        return Verdict.IGNORE
    if target is S.CANCELLING:
        # Only a user asks for CANCELLING; it is never a late report, so say why not.
        return Verdict.REFUSE
    if _RANK[target] < _RANK[current]:
        return Verdict.IGNORE
    # Success while cancelling or after another end, success before running, or CANCELLED
    # without a cancel request.
    return Verdict.REFUSE
