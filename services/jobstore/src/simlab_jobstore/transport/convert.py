"""Domain objects <-> simlab.v1 protos, for the gRPC answers and for the events on NATS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from simlab.common import events
from simlab.common.errors import SimlabError, invalid
from simlab.core.precision import Precision
from simlab.core.stats import Moments
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.transport.precision import (
    precision_from_proto,
    precision_to_proto,
    stop_reason_to_proto,
)
from simlab.transport.structs import dict_to_struct, struct_to_dict
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import stats_pb2

from ..core import targets
from ..core.events import EncodedEvent, EventKind
from ..core.jobs import BlockReport, Job, JobError, JobKind, JobSpec, ProgressPoint
from ..core.presets import Preset
from ..core.shares import ShareLink
from ..core.states import JobState
from ..core.studies import Comparison, NewStudy, PointSpec, Study, StudyState
from ..core.targets import StopInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_STATE_TO_PB: dict[JobState, pb.JobState] = {
    state: getattr(pb, f"JOB_STATE_{state.value}") for state in JobState
}
_STATE_FROM_PB: dict[int, JobState] = {number: state for state, number in _STATE_TO_PB.items()}
_KIND_TO_PB: dict[JobKind, pb.JobKind] = {
    JobKind.RUN: pb.JOB_KIND_RUN,
    JobKind.REGISTRATION: pb.JOB_KIND_REGISTRATION,
}
_STUDY_STATE_TO_PB: dict[StudyState, pb.StudyState] = {
    state: getattr(pb, f"STUDY_STATE_{state.value}") for state in StudyState
}


def state_to_pb(state: JobState) -> pb.JobState:
    return _STATE_TO_PB[state]


def state_from_pb(number: int, field: str = "state") -> JobState:
    try:
        return _STATE_FROM_PB[number]
    except KeyError:
        raise invalid(field, f"not a job state: {number}") from None


def timestamp(at: datetime) -> timestamp_pb2.Timestamp:
    # Integer arithmetic: several times faster than Timestamp.FromDatetime, on a hot path.
    micros = (at - _EPOCH) // _MICROSECOND
    return timestamp_pb2.Timestamp(seconds=micros // 1_000_000, nanos=micros % 1_000_000 * 1000)


def spec_from_pb(request: store_pb.CreateJobRequest) -> JobSpec:
    return JobSpec(
        owner=request.owner,
        request_id=request.request_id,
        model=request.model,
        parameters=struct_to_dict(request.parameters),
        seed=request.seed,
        shards=request.shards,
        primary_output=request.primary_output,
        block_size=request.block_size,
        samples_total=request.samples_total,
        model_version=request.model_version,
        code_sha256=request.code_sha256,
        args=tuple(request.args),
        # Validated here too (INVALID_ARGUMENT naming precision.<field>): callers are not
        # trusted.
        precision=precision_from_proto(request.precision)
        if request.HasField("precision")
        else None,
        no_cache=request.no_cache,
        extends=request.extends,
        latest=request.latest,
    )


def stop_info_to_pb(stop: StopInfo) -> pb.StopInfo:
    return pb.StopInfo(
        reason=stop_reason_to_proto(stop.reason),
        first_block=stop.first_block,
        end_block=stop.end_block,
        samples_used=stop.samples_used,
        half_width=stop.half_width,
        confidence=stop.confidence,
        blocks_discarded=stop.blocks_discarded,
    )


def job_to_pb(job: Job) -> pb.Job:
    message = pb.Job(
        job_id=job.job_id,
        owner=job.owner,
        model=job.model,
        parameters=dict_to_struct(job.parameters),
        seed=job.seed,
        shards=job.shards,
        request_id=job.request_id,
        state=state_to_pb(job.state),
        seq=job.seq,
        created_at=timestamp(job.created_at),
        updated_at=timestamp(job.updated_at),
        progress=progress_to_pb(job),
        history=[
            pb.StateChange(
                state=state_to_pb(change.state), at=timestamp(change.at), reason=change.reason
            )
            for change in job.history
        ],
        primary_output=job.primary_output,
        block_size=job.block_size,
        model_version=job.model_version,
        code_sha256=job.code_sha256,
        runtime=job.runtime,
        args=job.args,
        kind=_KIND_TO_PB[job.kind],
        cached_from=job.cached_from,
        extends=job.extends,
        study_id=job.study_id,
        study_point=job.study_point,
    )
    if job.precision is not None:
        message.precision.CopyFrom(precision_to_proto(job.precision))
    stop = targets.stop_info(job)
    if stop is not None:
        message.stop.CopyFrom(stop_info_to_pb(stop))
    if job.summary is not None:
        message.summary.CopyFrom(dict_to_struct(job.summary))
    if job.error is not None:
        message.error.CopyFrom(error_to_pb(job.error))
    return message


def progress_to_pb(job: Job) -> pb.Progress:
    return pb.Progress(
        blocks_done=job.blocks_done,
        blocks_total=job.blocks_total,
        samples_done=job.samples_done,
        samples_total=job.samples_total,
        estimate=job.estimate,
        stderr=job.stderr,
        samples_to_target=targets.samples_to_target(job),
    )


def error_to_pb(error: JobError) -> pb.JobError:
    return pb.JobError(
        message=error.message,
        traceback=error.traceback,
        source=error.source,
        log_tail=error.log_tail,
    )


def error_from_pb(error: pb.JobError) -> JobError:
    return JobError(error.message, error.traceback, error.source, error.log_tail)


_EVENT_KIND_TO_PB: dict[EventKind, pb.EventKind] = {
    EventKind.STATE: pb.EVENT_KIND_STATE,
    EventKind.PROGRESS: pb.EVENT_KIND_PROGRESS,
}


def encode_event(job: Job, kind: EventKind) -> EncodedEvent:
    """The simlab.v1 JobEvent announcing `job` as it is now."""
    event = pb.JobEvent(
        event_id=uuid.uuid4().hex,
        job_id=job.job_id,
        seq=job.seq,
        kind=_EVENT_KIND_TO_PB[kind],
        job=job_to_pb(job),
    )
    return EncodedEvent(event.event_id, events.event_subject(event), event.SerializeToString())


def encode_study_queued(study_id: str) -> EncodedEvent:
    """The simlab.jobstore.v1 StudyQueuedEvent announcing every queued point of a study."""
    event = store_pb.StudyQueuedEvent(event_id=uuid.uuid4().hex, study_id=study_id)
    return EncodedEvent(
        event.event_id, events.study_queued_subject(study_id), event.SerializeToString()
    )


class WireEvents:
    """core.events.EventEncoder: the events as the other services read them from NATS."""

    def job(self, job: Job, kind: EventKind) -> EncodedEvent:
        return encode_event(job, kind)

    def study_queued(self, study_id: str) -> EncodedEvent:
        return encode_study_queued(study_id)


WIRE_EVENTS = WireEvents()


def block_from_pb(block: stats_pb2.BlockStats) -> BlockReport:
    return BlockReport(
        block=block.block,
        samples=block.samples,
        moments={
            name: Moments(moments.count, moments.mean, moments.m2)
            for name, moments in block.moments.items()
        },
        stats=block.SerializeToString(),
    )


def progress_point_to_pb(point: ProgressPoint) -> pb.ProgressPoint:
    return pb.ProgressPoint(
        seq=point.seq,
        samples_done=point.samples_done,
        estimate=point.estimate,
        stderr=point.stderr,
        at=timestamp(point.at),
    )


def preset_from_pb(preset: pb.Preset) -> Preset:
    return Preset(
        name=preset.name,
        model=preset.model,
        parameters=struct_to_dict(preset.parameters),
        seed=preset.seed,
        shards=preset.shards,
    )


def preset_to_pb(preset: Preset) -> pb.Preset:
    message = pb.Preset(
        name=preset.name,
        model=preset.model,
        parameters=dict_to_struct(preset.parameters),
        seed=preset.seed,
        shards=preset.shards,
    )
    if preset.updated_at is not None:
        message.updated_at.CopyFrom(timestamp(preset.updated_at))
    return message


def share_link_to_pb(link: ShareLink) -> pb.ShareLink:
    message = pb.ShareLink(
        link_id=link.link_id,
        job_id=link.job_id,
        study_id=link.study_id,
        created_at=timestamp(link.created_at),
    )
    if link.expires_at is not None:
        message.expires_at.CopyFrom(timestamp(link.expires_at))
    if link.revoked_at is not None:
        message.revoked_at.CopyFrom(timestamp(link.revoked_at))
    return message


# ---- studies ---------------------------------------------------------------------------------


def new_study_from_pb(request: store_pb.CreateStudyRequest) -> NewStudy:
    spec = request.spec
    return NewStudy(
        owner=request.owner,
        request_id=request.request_id,
        title=spec.title,
        spec=spec.SerializeToString(),
        model=request.model,
        model_version=request.model_version,
        code_sha256=request.code_sha256,
        primary_output=request.primary_output,
        swept=tuple(request.swept),
        shards=spec.shards or 1,
        precision=_spec_precision(spec),
        no_cache=spec.no_cache,
        points=tuple(
            PointSpec(
                parameters=struct_to_dict(point.parameters),
                seed=point.seed,
                block_size=point.block_size,
                samples_total=point.samples_total,
            )
            for point in request.points
        ),
    )


def _spec_precision(spec: pb.StudySpec) -> Precision | None:
    """The spec's precision target, validated (INVALID_ARGUMENT naming spec.precision.<field>)."""
    if not spec.HasField("precision"):
        return None
    try:
        return precision_from_proto(spec.precision)
    except SimlabError as error:
        raise invalid(f"spec.{error.field}", error.description) from None


def study_to_pb(study: Study) -> pb.Study:
    progress = study.progress
    counts = progress.counts
    message = pb.Study(
        study_id=study.study_id,
        owner=study.owner,
        title=study.title,
        spec=pb.StudySpec.FromString(study.spec),
        model_version=study.model_version,
        primary_output=study.primary_output,
        swept=study.swept,
        points=study.points,
        state=_STUDY_STATE_TO_PB[progress.state],
        counts=pb.StudyCounts(
            queued=counts.queued,
            running=counts.running,
            succeeded=counts.succeeded,
            failed=counts.failed,
            cancelled=counts.cancelled,
        ),
        samples_done=progress.samples_done,
        samples_total=progress.samples_total,
        created_at=timestamp(study.created_at),
        updated_at=timestamp(progress.updated_at),
        points_per_second=progress.points_per_second,
        eta_seconds=progress.eta_seconds,
        queue_ahead=progress.queue_ahead,
        request_id=study.request_id,
    )
    if progress.ended_at is not None:
        message.ended_at.CopyFrom(timestamp(progress.ended_at))
    return message


def study_point_to_pb(job: Job) -> pb.StudyPoint:
    """A study's point from its job."""
    message = pb.StudyPoint(
        index=job.study_point,
        job_id=job.job_id,
        parameters=dict_to_struct(job.parameters),
        seed=job.seed,
        state=state_to_pb(job.state),
        seq=job.seq,
        progress=progress_to_pb(job),
        error="" if job.error is None else job.error.message,
        updated_at=timestamp(job.updated_at),
    )
    stop = targets.stop_info(job)
    if stop is not None:
        message.stop.CopyFrom(stop_info_to_pb(stop))
    return message


def comparison_to_pb(a: Job, b: Job, comparison: Comparison) -> pb.ComparePointsResponse:
    return pb.ComparePointsResponse(
        a=study_point_to_pb(a),
        b=study_point_to_pb(b),
        difference=comparison.difference,
        stderr=comparison.stderr,
        stderr_independent=comparison.stderr_independent,
        correlation=comparison.correlation,
        blocks=comparison.blocks,
        confidence=comparison.confidence,
        half_width=comparison.half_width,
    )
