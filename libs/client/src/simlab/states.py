"""Job states as people read them (the CLI, the progress bar, job_to_dict)."""

from __future__ import annotations

from simlab.v1 import simulation_pb2 as pb


def state_name(state: int) -> str:
    """JOB_STATE_RUNNING -> RUNNING."""
    return pb.JobState.Name(state).removeprefix("JOB_STATE_")
