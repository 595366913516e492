"""Where job events travel on NATS JetStream: stream SIMLAB_JOBS, subjects
simlab.jobs.<job_id>.<event>, where <event> is the state entered (queued, launching, running,
cancelling, succeeded, failed, cancelled) or `progress`. The payload is a simlab.v1.JobEvent;
its event_id is also the Nats-Msg-Id, so JetStream drops a re-published duplicate.

A new study's points are announced together by one simlab.jobstore.v1.StudyQueuedEvent on
simlab.studies.<study_id>.queued, in the same stream, so it stays in order with job events."""

from __future__ import annotations

from simlab.v1 import simulation_pb2 as pb

STREAM = "SIMLAB_JOBS"
SUBJECT_PREFIX = "simlab.jobs"
STUDY_SUBJECT_PREFIX = "simlab.studies"
JOB_SUBJECTS = f"{SUBJECT_PREFIX}.>"
STUDY_SUBJECTS = f"{STUDY_SUBJECT_PREFIX}.>"
ALL_SUBJECTS = (JOB_SUBJECTS, STUDY_SUBJECTS)
# How long JetStream remembers a Nats-Msg-Id to drop duplicates.
DUPLICATE_WINDOW_S = 120.0
PROGRESS = "progress"


def state_event_name(state: pb.JobState) -> str:
    return pb.JobState.Name(state).removeprefix("JOB_STATE_").lower()


def subject(job_id: str, event: str) -> str:
    return f"{SUBJECT_PREFIX}.{job_id}.{event}"


def job_subjects(job_id: str) -> str:
    return f"{SUBJECT_PREFIX}.{job_id}.>"


def study_queued_subject(study_id: str) -> str:
    return f"{STUDY_SUBJECT_PREFIX}.{study_id}.queued"


def is_study_subject(subject_: str) -> bool:
    return subject_.startswith(STUDY_SUBJECT_PREFIX + ".")


def event_subject(event: pb.JobEvent) -> str:
    if event.kind == pb.EVENT_KIND_PROGRESS:
        return subject(event.job_id, PROGRESS)
    return subject(event.job_id, state_event_name(event.job.state))


async def ensure_stream(js: object) -> None:
    """Creates the stream, or updates it to this configuration (idempotent)."""
    from nats.js.api import StorageType, StreamConfig

    await apply_stream(
        js,
        StreamConfig(
            name=STREAM,
            subjects=list(ALL_SUBJECTS),
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            max_age=30 * 24 * 3600.0,
        ),
    )


async def apply_stream(js: object, config: object) -> None:
    """Creates the JetStream stream `config` names, or updates it to `config`."""
    from nats.js.api import StreamConfig
    from nats.js.client import JetStreamContext
    from nats.js.errors import NotFoundError

    assert isinstance(js, JetStreamContext) and isinstance(config, StreamConfig)
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)
