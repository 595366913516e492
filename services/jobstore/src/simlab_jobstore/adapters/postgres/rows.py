"""Rows <-> domain objects: the columns read, and how each is decoded or encoded."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from simlab.core.precision import Precision, Prefix, Stop, StopReason
from simlab.core.stats import Moments

from ...core.events import EncodedEvent
from ...core.jobs import Job, JobError, JobKind, StateChange
from ...core.models import ModelKind, ModelVersion
from ...core.presets import Preset
from ...core.states import JobState
from ...core.studies import PointTally, Study, StudyProgress

Row = dict[str, Any]

JOB_COLUMNS = """job_id, owner, request_id, model, parameters, seed, requested_seed, shards,
    primary_output, block_size, samples_total, blocks_total, state, seq, created_at, updated_at,
    history, blocks_done, samples_done, moments_count, moments_mean, moments_m2, summary,
    error_message, error_traceback, error_source, error_log_tail, finalizer_shard, kind,
    model_version, code_sha256, runtime, args, reported_estimate, reported_stderr, precision,
    prefix_blocks, prefix_start, prefix_count, prefix_mean, prefix_m2, stop_reason,
    stop_first_block, stop_end_block, fingerprint, cached_from, extends, study_id, study_point"""

MODEL_COLUMNS = """name, version, owner, public, builtin, kind, code_sha256, code_size, entry,
    files, imports, warnings, reproducible, runtime, block_size, schema, created_at,
    registration_job"""

# A link shares a job or a study: the other is "".


def visible_to(viewer: str) -> str:
    """The condition on a models row that the version is visible to `viewer` (SQL: a
    placeholder or a column): built-in and public versions are visible to everyone, the others
    to their owner; an empty viewer (an internal caller) sees every version."""
    return f"({viewer} = '' OR builtin OR public OR owner = {viewer})"


SHARE_COLUMNS = """link_id, owner, coalesce(job_id, '') AS job_id, created_at, expires_at,
    revoked_at, coalesce(study_id, '') AS study_id"""

STUDY_COLUMNS = """study_id, owner, request_id, title, spec, model, model_version, primary_output,
    swept, points, points_digest, created_at, updated_at, cancelled"""


def job_from_row(row: Row) -> Job:
    error = None
    if row["error_message"] is not None:
        error = JobError(
            row["error_message"],
            row["error_traceback"],
            row["error_source"],
            row["error_log_tail"],
        )
    return Job(
        job_id=row["job_id"],
        owner=row["owner"],
        request_id=row["request_id"],
        model=row["model"],
        parameters=row["parameters"],
        seed=int(row["seed"]),
        requested_seed=int(row["requested_seed"]),
        shards=row["shards"],
        primary_output=row["primary_output"],
        block_size=row["block_size"],
        samples_total=row["samples_total"],
        blocks_total=row["blocks_total"],
        state=JobState(row["state"]),
        seq=row["seq"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        history=tuple(
            StateChange(
                JobState(entry["state"]), datetime.fromisoformat(entry["at"]), entry["reason"]
            )
            for entry in row["history"]
        ),
        blocks_done=row["blocks_done"],
        samples_done=row["samples_done"],
        moments=Moments(row["moments_count"], row["moments_mean"], row["moments_m2"]),
        summary=row["summary"],
        error=error,
        finalizer_shard=row["finalizer_shard"],
        kind=JobKind(row["kind"]),
        model_version=row["model_version"],
        code_sha256=row["code_sha256"],
        runtime=row["runtime"],
        args=tuple(row["args"]),
        reported_estimate=row["reported_estimate"],
        reported_stderr=row["reported_stderr"],
        precision=None if row["precision"] is None else Precision(**row["precision"]),
        prefix=Prefix(
            row["prefix_blocks"],
            row["prefix_start"],
            Moments(row["prefix_count"], row["prefix_mean"], row["prefix_m2"]),
        ),
        stop=None
        if row["stop_reason"] is None
        else Stop(StopReason(row["stop_reason"]), row["stop_first_block"], row["stop_end_block"]),
        fingerprint=row["fingerprint"],
        cached_from=row["cached_from"],
        extends=row["extends"],
        study_id=row["study_id"] or "",
        study_point=row["study_point"] or 0,
    )


def block_moments(row: Row) -> Moments:
    """A block's primary output moments (none in rows of before they were recorded)."""
    if row["count"] is None:
        return Moments()
    return Moments(row["count"], row["mean"], row["m2"])


def precision_to_json(precision: Precision | None) -> dict[str, Any] | None:
    return None if precision is None else dataclasses.asdict(precision)


def prefix_and_stop_values(job: Job) -> dict[str, Any]:
    """The columns of the job's prefix and stop."""
    stop = job.stop
    return {
        "prefix_blocks": job.prefix.blocks,
        "prefix_start": job.prefix.start,
        "prefix_count": job.prefix.moments.count,
        "prefix_mean": job.prefix.moments.mean,
        "prefix_m2": job.prefix.moments.m2,
        "stop_reason": None if stop is None else stop.reason.value,
        "stop_first_block": None if stop is None else stop.first_block,
        "stop_end_block": None if stop is None else stop.end_block,
    }


def insert_record(job: Job, event: EncodedEvent | None) -> dict[str, Any]:
    """A new job's columns, with its event's as one element of the JSON array the batch insert
    reads, or alone as a row that COPY writes."""
    return {
        "job_id": job.job_id,
        "owner": job.owner,
        "request_id": job.request_id,
        "model": job.model,
        "parameters": job.parameters,
        "seed": job.seed,
        "requested_seed": job.requested_seed,
        "shards": job.shards,
        "primary_output": job.primary_output,
        "block_size": job.block_size,
        "samples_total": job.samples_total,
        "blocks_total": job.blocks_total,
        "state": job.state.value,
        "seq": job.seq,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "history": history_to_json(job.history),
        "kind": job.kind.value,
        "model_version": job.model_version,
        "code_sha256": job.code_sha256,
        "args": list(job.args),
        "blocks_done": job.blocks_done,
        "samples_done": job.samples_done,
        "moments_count": job.moments.count,
        "moments_mean": job.moments.mean,
        "moments_m2": job.moments.m2,
        "summary": job.summary,
        "runtime": job.runtime,
        "precision": precision_to_json(job.precision),
        **prefix_and_stop_values(job),
        "fingerprint": job.fingerprint,
        "cached_from": job.cached_from,
        "extends": job.extends,
        "study_id": job.study_id or None,
        "study_point": job.study_point if job.study_id else None,
        **({} if event is None else event_record(event)),
    }


def event_record(event: EncodedEvent) -> dict[str, str]:
    """An outbox row's fields as a JSON record of a batch statement."""
    return {
        "event_id": event.event_id,
        "subject": event.subject,
        "payload": "\\x" + event.payload.hex(),  # bytea's hex input format
    }


def history_to_json(history: Sequence[StateChange]) -> list[dict[str, str]]:
    return [
        {"state": change.state.value, "at": change.at.isoformat(), "reason": change.reason}
        for change in history
    ]


def preset_from_row(row: Row) -> Preset:
    return Preset(
        name=row["name"],
        model=row["model"],
        parameters=row["parameters"],
        seed=int(row["seed"]),
        shards=row["shards"],
        updated_at=row["updated_at"],
    )


def model_from_row(row: Row) -> ModelVersion:
    return ModelVersion(
        **{
            **row,
            "kind": ModelKind(row["kind"]),
            "files": tuple(row["files"]),
            "imports": tuple(row["imports"]),
            "warnings": tuple(row["warnings"]),
        }
    )


def study_from_row(row: Row, progress: StudyProgress) -> Study:
    return Study(**{**row, "swept": tuple(row["swept"])}, progress=progress)


def tally_from_row(row: Row) -> PointTally:
    return PointTally(**{**row, "state": JobState(row["state"])})
