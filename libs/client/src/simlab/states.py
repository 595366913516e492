"""Job and study states, and where a run stopped, as people read them (the CLI, the progress
bars, the --json output, the tables of a study's points)."""

from __future__ import annotations

from typing import cast

from simlab.v1 import simulation_pb2 as pb

TERMINAL = frozenset({pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED})
STUDY_ENDED = frozenset({pb.STUDY_STATE_SUCCEEDED, pb.STUDY_STATE_FAILED, pb.STUDY_STATE_CANCELLED})


def state_name(state: int) -> str:
    """JOB_STATE_RUNNING -> RUNNING."""
    return pb.JobState.Name(state).removeprefix("JOB_STATE_")


def job_state(name: str) -> pb.JobState:
    """ "running" (any case, with or without JOB_STATE_) -> pb.JOB_STATE_RUNNING; ValueError
    naming the states for anything else."""
    try:
        value = pb.JobState.Value(f"JOB_STATE_{name.upper().removeprefix('JOB_STATE_')}")
    except ValueError:
        known = ", ".join(state_name(v).lower() for v in pb.JobState.values()[1:])
        raise ValueError(f"{name!r} is not a job state ({known})") from None
    # At run time the enum's values are ints (its wrapper is no class to call).
    return cast(pb.JobState, value)


def study_state_name(state: int) -> str:
    """STUDY_STATE_RUNNING -> RUNNING."""
    return pb.StudyState.Name(state).removeprefix("STUDY_STATE_")


def stop_reason(stop: pb.StopInfo) -> str:
    """ "precision_reached" or "budget_exhausted" (as the summary's stop_reason)."""
    return pb.StopReason.Name(stop.reason).removeprefix("STOP_REASON_").lower()


def points_ended(counts: pb.StudyCounts) -> int:
    """A study's points that ended: succeeded, failed or cancelled."""
    return counts.succeeded + counts.failed + counts.cancelled
