"""The outbox's event encoding (core.events.EventEncoder), as the relay publishes it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from simlab.common import events
from simlab.v1 import simulation_pb2 as pb
from simlab_jobstore.core import jobs
from simlab_jobstore.core.events import EventKind
from simlab_jobstore.core.jobs import JobSpec
from simlab_jobstore.core.states import JobState
from simlab_jobstore.transport.convert import encode_event

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
