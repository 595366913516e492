import signal

import pytest

from simlab.v1 import simulation_pb2 as pb
from simlab_runner.core.decisions import (
    EXIT_MODEL_FAILED,
    MAX_ATTEMPTS,
    Fail,
    Nothing,
    Relaunch,
    describe_exit,
    on_shard_exit,
)


@pytest.mark.parametrize(
    "state",
    [pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED, pb.JOB_STATE_CANCELLING],
)
def test_exits_of_ended_or_cancelling_jobs_change_nothing(state: pb.JobState) -> None:
    assert on_shard_exit(state, 0, -9, "killed", 1) == Nothing()
    assert on_shard_exit(state, 0, None, "lost", 1) == Nothing()


def test_a_clean_exit_changes_nothing() -> None:
    assert on_shard_exit(pb.JOB_STATE_RUNNING, 1, 0, "", 1) == Nothing()


def test_a_crash_fails_the_job_with_the_reason() -> None:
    decision = on_shard_exit(pb.JOB_STATE_RUNNING, 2, -11, describe_exit(-11), 1)
    assert isinstance(decision, Fail)
    assert decision.message == "shard 2 killed by SIGSEGV"


def test_a_shard_killed_from_outside_is_relaunched_until_the_limit() -> None:
    """kill -9 of a worker the runner watches (the chaos suite): relaunched like a lost one,
    not failed at once; an OOM kill that comes back every time fails it in the end."""
    assert on_shard_exit(pb.JOB_STATE_RUNNING, 2, -9, describe_exit(-9), 1) == Relaunch(2)
    decision = on_shard_exit(pb.JOB_STATE_RUNNING, 2, -9, describe_exit(-9), MAX_ATTEMPTS)
    assert isinstance(decision, Fail)
    assert decision.message == "shard 2 killed by SIGKILL (out of memory?), 3 times; giving up"


def test_a_shard_lost_while_nobody_watched_is_relaunched_until_the_limit() -> None:
    assert on_shard_exit(pb.JOB_STATE_RUNNING, 1, None, "lost", 1) == Relaunch(1)
    assert isinstance(on_shard_exit(pb.JOB_STATE_RUNNING, 1, None, "lost", MAX_ATTEMPTS), Fail)


def test_exit_descriptions_are_in_words() -> None:
    assert describe_exit(-signal.SIGTERM) == "killed by SIGTERM"
    assert describe_exit(-signal.SIGXCPU) == "killed by SIGXCPU (CPU time limit reached)"
    assert describe_exit(EXIT_MODEL_FAILED) == "the model raised an exception"
    assert describe_exit(42) == "exited with code 42"
