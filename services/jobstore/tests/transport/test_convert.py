"""The outbox's event encoding (core.events.EventEncoder), as the relay publishes it, and the
fields of precision runs, cache hits and top-ups."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from simlab.common import events
from simlab.common.errors import SimlabError
from simlab.core.precision import Precision, Prefix, Stop, StopReason
from simlab.core.stats import Moments
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab_jobstore.core import jobs
from simlab_jobstore.core.events import EventKind
from simlab_jobstore.core.jobs import JobSpec
from simlab_jobstore.core.states import JobState
from simlab_jobstore.core.studies import Study, StudyCounts, StudyProgress, StudyState
from simlab_jobstore.transport.convert import (
    encode_event,
    encode_study_queued,
    job_to_pb,
    new_study_from_pb,
    spec_from_pb,
    study_point_to_pb,
    study_to_pb,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
JOB = jobs.new_job(
    JobSpec("ana", "", "pi", {"samples": 1000}, 7, 2, "estimate", 250, 1000),
    "0123456789abcdef",
    7,
    T0,
)


def test_a_state_event_carries_the_job_on_its_states_subject() -> None:
    running = jobs.transition(JOB, JobState.RUNNING, T0, "shard 0 started")
    assert running is not None
    encoded = encode_event(running, EventKind.STATE)
    event = pb.JobEvent.FromString(encoded.payload)
    assert (event.event_id, event.job_id, event.seq) == (encoded.event_id, JOB.job_id, 2)
    assert (event.kind, event.job.state) == (pb.EVENT_KIND_STATE, pb.JOB_STATE_RUNNING)
    assert encoded.subject == events.event_subject(event)
    assert encoded.subject.endswith(f".{JOB.job_id}.{events.state_event_name(event.job.state)}")


def test_a_progress_event_goes_to_the_progress_subject_with_a_new_id_each_time() -> None:
    progressed = dataclasses.replace(JOB, blocks_done=1, samples_done=250)
    first, second = (encode_event(progressed, EventKind.PROGRESS) for _ in range(2))
    assert pb.JobEvent.FromString(first.payload).kind == pb.EVENT_KIND_PROGRESS
    assert first.subject == events.subject(JOB.job_id, events.PROGRESS)
    assert first.event_id != second.event_id  # JetStream deduplicates by event id


def test_a_precision_runs_fields_travel_both_ways() -> None:
    request = store_pb.CreateJobRequest(
        owner="ana",
        model="pi",
        precision=pb.Precision(rel_tol=0.01, two_stage=True),
        no_cache=True,
        extends="fedcba9876543210",
    )
    spec = spec_from_pb(request)
    assert spec.precision == Precision.of(rel_tol=0.01, two_stage=True)
    assert (spec.no_cache, spec.extends) == (True, "fedcba9876543210")
    assert spec_from_pb(store_pb.CreateJobRequest(owner="ana")).precision is None
    # Validated here too: the store does not trust its callers.
    bad = store_pb.CreateJobRequest(precision=pb.Precision(rel_tol=0.01, confidence=1.5))
    with pytest.raises(SimlabError) as refused:
        spec_from_pb(bad)
    assert refused.value.field == "precision.confidence"

    stopped = dataclasses.replace(
        JOB,
        precision=Precision.of(abs_tol=0.5),
        stop=Stop(StopReason.PRECISION_REACHED, 0, 2),
        prefix=Prefix(2, 0, Moments(500, 3.0, 499.0)),
        blocks_done=3,
        cached_from="fedcba9876543210",
    )
    message = job_to_pb(stopped)
    assert message.precision == pb.Precision(abs_tol=0.5, confidence=0.95, min_blocks=10)
    assert (message.stop.reason, message.stop.end_block) == (pb.STOP_REASON_PRECISION_REACHED, 2)
    assert (message.stop.samples_used, message.stop.blocks_discarded) == (500, 1)
    assert message.stop.half_width == pytest.approx(1.959964 * (1 / 500) ** 0.5, rel=1e-5)
    assert message.cached_from == "fedcba9876543210" and not message.extends
    assert message.progress.samples_to_target == 0
    running = job_to_pb(dataclasses.replace(stopped, stop=None, moments=Moments(500, 3.0, 499.0)))
    assert not running.HasField("stop") and running.progress.samples_to_target == 16
    assert not job_to_pb(JOB).HasField("precision")


def test_a_studys_points_are_announced_by_one_event_on_the_studys_subject() -> None:
    encoded = encode_study_queued("00112233aabbccdd")
    event = store_pb.StudyQueuedEvent.FromString(encoded.payload)
    assert (event.event_id, event.study_id) == (encoded.event_id, "00112233aabbccdd")
    assert encoded.subject == events.study_queued_subject("00112233aabbccdd")
    assert events.is_study_subject(encoded.subject)


def test_a_point_is_a_job_with_its_study_and_index() -> None:
    point = dataclasses.replace(
        JOB,
        study_id="00112233aabbccdd",
        study_point=42,
        state=JobState.FAILED,
        error=jobs.JobError("boom", "Traceback ..."),
    )
    assert (job_to_pb(point).study_id, job_to_pb(point).study_point) == ("00112233aabbccdd", 42)
    message = study_point_to_pb(point)
    assert (message.index, message.job_id, message.state) == (42, JOB.job_id, pb.JOB_STATE_FAILED)
    assert (message.error, message.seed, message.parameters["samples"]) == ("boom", 7, 1000)
    assert message.progress.blocks_total == 4 and not message.HasField("stop")
    assert not job_to_pb(JOB).study_id


def test_a_study_travels_with_its_spec_and_derived_progress() -> None:
    spec = pb.StudySpec(model="pi", seed=9, crn=True, title="vol sweep", shards=0)
    request = store_pb.CreateStudyRequest(
        owner="ana",
        spec=spec,
        model="pi",
        model_version=3,
        primary_output="estimate",
        swept=["volatility"],
        points=[store_pb.StudyPointSpec(seed=9, block_size=250, samples_total=1000)],
    )
    new = new_study_from_pb(request)
    assert (new.shards, new.title, new.swept, new.precision) == (
        1,
        "vol sweep",
        ("volatility",),
        None,
    )
    assert pb.StudySpec.FromString(new.spec) == spec
    request.spec.precision.CopyFrom(pb.Precision(rel_tol=0.1, min_blocks=1))
    with pytest.raises(SimlabError) as refused:
        new_study_from_pb(request)
    assert refused.value.field == "spec.precision.min_blocks"

    ended = StudyProgress(
        state=StudyState.FAILED,
        counts=StudyCounts(succeeded=2, failed=1),
        samples_done=3000,
        samples_total=3000,
        updated_at=T0,
        ended_at=T0,
        points_per_second=0.05,
        eta_seconds=0.0,
        queue_ahead=0,
    )
    study = Study(
        study_id="00112233aabbccdd",
        owner="ana",
        request_id="r1",
        title="vol sweep",
        spec=new.spec,
        model="pi",
        model_version=3,
        primary_output="estimate",
        swept=("volatility",),
        points=3,
        points_digest=new.points_digest(),
        created_at=T0,
        updated_at=T0,
        cancelled=False,
        progress=ended,
    )
    message = study_to_pb(study)
    assert (message.state, message.counts.failed, message.points) == (pb.STUDY_STATE_FAILED, 1, 3)
    assert message.spec == spec and message.ended_at.seconds == int(T0.timestamp())
    assert (message.request_id, message.model_version, list(message.swept)) == (
        "r1",
        3,
        ["volatility"],
    )
    running = dataclasses.replace(study, progress=dataclasses.replace(ended, ended_at=None))
    assert not study_to_pb(running).HasField("ended_at")
