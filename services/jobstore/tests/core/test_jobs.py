"""Changes to a job: seq bumps, history, refusals with their messages, progress arithmetic,
finalization claims and resubmission checks."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from services.jobstore.tests.specs import SPEC
from simlab.common.errors import Code, SimlabError
from simlab.core.stats import Moments
from simlab_jobstore.core import jobs
from simlab_jobstore.core.jobs import BlockReport, JobError
from simlab_jobstore.core.states import JobState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def new_job(**changes: Any) -> jobs.Job:
    job = jobs.new_job(SPEC, "j1", SPEC.seed, T0)
    return dataclasses.replace(job, **changes)


def later(seconds: int = 1) -> datetime:
    return T0 + timedelta(seconds=seconds)


def block(index: int, samples: np.ndarray) -> BlockReport:
    return BlockReport(index, samples.size, {"estimate": Moments.of(samples)}, b"")


def test_a_new_job_is_queued_at_seq_1_with_its_blocks_counted() -> None:
    job = new_job()
    assert (job.state, job.seq, job.blocks_total) == (JobState.QUEUED, 1, 4)
    assert [change.state for change in job.history] == [JobState.QUEUED]


def test_a_transition_bumps_seq_once_and_records_the_state_entered() -> None:
    job = jobs.transition(new_job(), JobState.LAUNCHING, later(), "pods scheduled")
    assert job is not None
    assert (job.state, job.seq, job.updated_at) == (JobState.LAUNCHING, 2, later())
    assert job.history[-1] == jobs.StateChange(JobState.LAUNCHING, later(), "pods scheduled")


def test_a_duplicate_or_late_report_changes_nothing() -> None:
    running = new_job(state=JobState.RUNNING, seq=5)
    assert jobs.transition(running, JobState.RUNNING, later(), "again") is None
    assert jobs.transition(running, JobState.LAUNCHING, later(), "late") is None


def test_cancelling_a_finished_job_names_its_state() -> None:
    done = new_job(state=JobState.SUCCEEDED)
    with pytest.raises(SimlabError) as refused:
        jobs.transition(done, JobState.CANCELLING, later(), "cancel")
    assert refused.value.code is Code.FAILED_PRECONDITION
    assert refused.value.message == "job j1 already SUCCEEDED"


def test_an_impossible_jump_is_refused() -> None:
    with pytest.raises(SimlabError) as refused:
        jobs.transition(new_job(), JobState.SUCCEEDED, later(), "done")
    assert refused.value.code is Code.FAILED_PRECONDITION


def test_success_needs_every_block() -> None:
    running = new_job(state=JobState.RUNNING, blocks_done=3)
    with pytest.raises(SimlabError, match="3 of 4 blocks"):
        jobs.transition(running, JobState.SUCCEEDED, later(), "done", summary={"x": 1})
    finished = jobs.transition(
        dataclasses.replace(running, blocks_done=4),
        JobState.SUCCEEDED,
        later(),
        "done",
        summary={"x": 1},
    )
    assert finished is not None and finished.summary == {"x": 1}


def test_a_failure_keeps_its_error_and_the_first_failure_wins() -> None:
    first = JobError("boom", "Traceback ...", "model", "last lines")
    failed = jobs.transition(new_job(), JobState.FAILED, later(), "boom", error=first)
    assert failed is not None and failed.error == first
    assert jobs.transition(failed, JobState.FAILED, later(2), "x", error=JobError("x")) is None


def test_blocks_update_the_running_estimate_whatever_their_order() -> None:
    rng = np.random.default_rng(1)
    samples = [rng.normal(3.0, 2.0, 250) for _ in range(4)]
    running = new_job(state=JobState.RUNNING, seq=3)
    forward = jobs.record_blocks(running, [block(i, s) for i, s in enumerate(samples)], later())
    backward = running
    for i in (3, 2, 1, 0):
        backward = jobs.record_blocks(backward, [block(i, samples[i])], later())
    expected = Moments.of(np.concatenate(samples))
    assert forward.seq == 4 and backward.seq == 7
    assert (forward.blocks_done, forward.samples_done) == (4, 1000)
    for job in (forward, backward):
        assert job.estimate == pytest.approx(expected.mean)
        assert job.stderr == pytest.approx(expected.stderr)


def test_no_estimate_before_a_block_and_no_stderr_from_one_sample() -> None:
    job = new_job(state=JobState.RUNNING)
    assert (job.estimate, job.stderr) == (None, None)
    one = jobs.record_blocks(job, [block(0, np.array([2.5]))], later())
    assert (one.estimate, one.stderr) == (2.5, None)
    two = jobs.record_blocks(one, [block(2, np.array([3.5]))], later())
    assert two.stderr is not None and math.isclose(two.stderr, 0.5)


def test_blocks_must_belong_to_the_reporting_shard() -> None:
    job = new_job(state=JobState.RUNNING)
    jobs.check_blocks(job, 1, [block(1, np.ones(3)), block(3, np.ones(3))])
    with pytest.raises(SimlabError) as refused:
        jobs.check_blocks(job, 1, [block(2, np.ones(3))])
    assert refused.value.code is Code.INVALID_ARGUMENT
    assert refused.value.field == "blocks[0].block"
    with pytest.raises(SimlabError, match="shard"):
        jobs.check_shard(job, 2)


def test_blocks_are_refused_before_any_shard_started_and_ignored_after_the_end() -> None:
    with pytest.raises(SimlabError):
        jobs.accepts_blocks(new_job(state=JobState.LAUNCHING))
    assert jobs.accepts_blocks(new_job(state=JobState.CANCELLING))
    assert not jobs.accepts_blocks(new_job(state=JobState.FAILED))


def test_the_first_shard_to_complete_the_set_finalizes_and_may_ask_again() -> None:
    running = new_job(state=JobState.RUNNING)
    assert not jobs.claims_finalization(running, 0, all_shards_done=False)
    assert jobs.claims_finalization(running, 1, all_shards_done=True)
    claimed = dataclasses.replace(running, finalizer_shard=1)
    assert jobs.claims_finalization(claimed, 1, all_shards_done=True)
    assert not jobs.claims_finalization(claimed, 0, all_shards_done=True)
    cancelling = dataclasses.replace(running, state=JobState.CANCELLING)
    assert not jobs.claims_finalization(cancelling, 1, all_shards_done=True)


def test_a_resubmission_must_ask_for_the_same_job() -> None:
    job = jobs.new_job(dataclasses.replace(SPEC, seed=0), "j1", 12345, T0)
    assert jobs.is_resubmission(job, dataclasses.replace(SPEC, seed=0))
    assert not jobs.is_resubmission(job, SPEC)
    assert not jobs.is_resubmission(
        job, dataclasses.replace(SPEC, seed=0, parameters={"samples": 2000})
    )
    assert not jobs.is_resubmission(job, dataclasses.replace(SPEC, seed=0, shards=3))


@pytest.mark.parametrize("field", ["owner", "model", "primary_output"])
def test_a_spec_needs_its_names(field: str) -> None:
    with pytest.raises(SimlabError) as refused:
        empty: dict[str, Any] = {field: ""}
        dataclasses.replace(SPEC, **empty).validate()
    assert refused.value.field == field


@pytest.mark.parametrize("field", ["shards", "block_size", "samples_total"])
def test_a_spec_needs_positive_sizes(field: str) -> None:
    with pytest.raises(SimlabError) as refused:
        zero: dict[str, Any] = {field: 0}
        dataclasses.replace(SPEC, **zero).validate()
    assert refused.value.field == field


# ---- registered code, scripts and registrations --------------------------------------------


def script_job(**changes: Any) -> jobs.Job:
    spec = dataclasses.replace(SPEC, shards=1, block_size=0, samples_total=0, primary_output="")
    job = jobs.new_job(spec, "s1", 7, T0, script=True)
    return dataclasses.replace(job, **changes)


def test_a_script_validates_without_blocks_and_runs_as_one_shard() -> None:
    spec = dataclasses.replace(SPEC, shards=1, block_size=0, samples_total=0, primary_output="")
    spec.validate(script=True)
    with pytest.raises(SimlabError, match=r"^primary_output:"):
        spec.validate()
    with pytest.raises(SimlabError, match=r"^shards: a script model runs as 1 shard"):
        dataclasses.replace(spec, shards=2).validate(script=True)
    job = script_job()
    assert (job.script, job.blocks_total, job.samples_total, job.block_size) == (True, 0, 0, 0)
    assert not new_job().script


def test_a_script_succeeds_without_blocks_and_reports_progress() -> None:
    job = script_job(state=JobState.RUNNING)
    reported = jobs.record_progress(job, 0, jobs.ScriptProgress(2.6, 10, 1.5, 0.25), later())
    assert reported is not None
    assert (reported.seq, reported.samples_done, reported.samples_total) == (2, 3, 10)
    assert (reported.estimate, reported.stderr) == (1.5, 0.25)
    assert jobs.ProgressPoint.of(reported).estimate == 1.5
    assert (
        jobs.record_progress(reported, 0, jobs.ScriptProgress(2.6, 10, 1.5, 0.25), later(2)) is None
    )
    unknown_total = jobs.record_progress(reported, 0, jobs.ScriptProgress(4, 0, math.inf), later())
    assert unknown_total is not None
    assert (unknown_total.samples_total, unknown_total.estimate) == (10, None)
    done = jobs.succeed(reported, {"rows": 1}, later())
    assert done is not None and done.state is JobState.SUCCEEDED


def test_progress_is_for_scripts_and_must_be_a_count() -> None:
    with pytest.raises(SimlabError, match="reports blocks, not progress"):
        jobs.record_progress(new_job(state=JobState.RUNNING), 0, jobs.ScriptProgress(1, 0), T0)
    for bad in (jobs.ScriptProgress(-1, 0), jobs.ScriptProgress(math.nan, 0)):
        with pytest.raises(SimlabError, match=r"^done:"):
            jobs.record_progress(script_job(state=JobState.RUNNING), 0, bad, T0)
    with pytest.raises(SimlabError, match=r"^total:"):
        jobs.record_progress(
            script_job(state=JobState.RUNNING), 0, jobs.ScriptProgress(1, 2.0**60), T0
        )


def test_the_first_runtime_reported_stays() -> None:
    job = jobs.with_runtime(new_job(), "pod")
    assert job.runtime == "pod"
    assert jobs.with_runtime(job, "other") is job
    assert jobs.with_runtime(new_job(), "") == new_job()
    with pytest.raises(SimlabError, match=r"^runtime:"):
        jobs.with_runtime(new_job(), "x" * 1001)


def test_a_registration_succeeds_only_with_its_version() -> None:
    registration = dataclasses.replace(
        jobs.new_registration_job("ana", "", "asian", "ab" * 32, "r1", T0), state=JobState.RUNNING
    )
    assert (registration.kind, registration.shards, registration.blocks_total) == (
        jobs.JobKind.REGISTRATION,
        1,
        0,
    )
    assert not registration.script
    with pytest.raises(SimlabError, match="CompleteRegistration"):
        jobs.succeed(registration, {}, later())
    done = jobs.registered(registration, "asian", 3, later())
    assert done is not None and done.summary == {"model": "asian", "version": 3}
    assert done.history[-1].reason == "registered asian@v3"
    with pytest.raises(SimlabError, match="not a registration"):
        jobs.registered(new_job(state=JobState.RUNNING), "asian", 1, later())


def test_a_resubmission_must_ask_for_the_same_version_and_arguments() -> None:
    job = jobs.new_job(dataclasses.replace(SPEC, model_version=2, args=("a",)), "j1", 7, T0)
    assert jobs.is_resubmission(job, dataclasses.replace(SPEC, model_version=2, args=("a",)))
    assert not jobs.is_resubmission(job, dataclasses.replace(SPEC, model_version=3, args=("a",)))
    assert not jobs.is_resubmission(job, dataclasses.replace(SPEC, model_version=2))


def test_a_queued_job_takes_the_runners_reason_for_waiting_once() -> None:
    job = new_job()
    waiting = jobs.transition(job, JobState.QUEUED, later(), "waiting: all 4 workers are busy")
    assert waiting is not None
    assert (waiting.state, waiting.seq) == (JobState.QUEUED, 2)
    assert [change.reason for change in waiting.history] == [
        "submitted",
        "waiting: all 4 workers are busy",
    ]
    # The same reason again, or none, changes nothing (no event for the runner to act on).
    assert (
        jobs.transition(waiting, JobState.QUEUED, later(2), "waiting: all 4 workers are busy")
        is None
    )
    assert jobs.transition(waiting, JobState.QUEUED, later(2), "") is None
    # A job that has left the queue keeps its state: a late QUEUED report is ignored.
    launching = jobs.transition(waiting, JobState.LAUNCHING, later(3), "launch recorded")
    assert launching is not None
    assert jobs.transition(launching, JobState.QUEUED, later(4), "waiting") is None
