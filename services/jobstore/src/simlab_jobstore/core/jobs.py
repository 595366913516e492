"""Jobs as the store keeps them, and every change a job can go through. Each function takes a
job and returns the changed job (seq bumped), None when the request changes nothing, or raises
SimlabError when it must be refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simlab.common.errors import Code, SimlabError, invalid
from simlab.core.blocks import blocks_total, shard_blocks
from simlab.core.stats import Moments

from .states import TERMINAL, JobState, Verdict, decide

MAX_UINT64 = 2**64 - 1


@dataclass(frozen=True)
class StateChange:
    state: JobState
    at: datetime
    reason: str


@dataclass(frozen=True)
class JobError:
    message: str
    traceback: str = ""
    source: str = ""
    log_tail: str = ""


@dataclass(frozen=True)
class JobSpec:
    """What a client asks for. seed 0 asks for a random seed."""

    owner: str
    request_id: str
    model: str
    parameters: dict[str, Any]
    seed: int
    shards: int
    primary_output: str
    block_size: int
    samples_total: int

    def validate(self) -> None:
        for name in ("owner", "model", "primary_output"):
            if not getattr(self, name):
                raise invalid(name, "must not be empty")
        for name in ("shards", "block_size", "samples_total"):
            if getattr(self, name) < 1:
                raise invalid(name, f"must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class Job:
    job_id: str
    owner: str
    request_id: str
    model: str
    parameters: dict[str, Any]
    seed: int
    # The seed as submitted (0: "pick one"), to recognise a resubmission.
    requested_seed: int
    shards: int
    primary_output: str
    block_size: int
    samples_total: int
    blocks_total: int
    state: JobState
    seq: int
    created_at: datetime
    updated_at: datetime
    history: tuple[StateChange, ...]
    blocks_done: int = 0
    samples_done: int = 0
    # Running moments of the primary output: the live estimate, not the final result.
    moments: Moments = dataclasses.field(default_factory=Moments)
    summary: dict[str, Any] | None = None
    error: JobError | None = None
    # The shard that claimed finalization once every shard was done.
    finalizer_shard: int | None = None

    @property
    def estimate(self) -> float | None:
        return self.moments.mean if self.moments.count > 0 else None

    @property
    def stderr(self) -> float | None:
        return self.moments.stderr if self.moments.count > 1 else None

    def shard_blocks(self, shard: int) -> range:
        return shard_blocks(shard, self.shards, self.blocks_total)


@dataclass(frozen=True)
class BlockReport:
    """One finished block: its sample count, its moments by output, and its statistics as the
    worker sent them (kept as bytes for the finalizing shard)."""

    block: int
    samples: int
    moments: dict[str, Moments]
    stats: bytes


@dataclass(frozen=True)
class ProgressPoint:
    seq: int
    samples_done: int
    estimate: float | None
    stderr: float | None
    at: datetime

    @staticmethod
    def of(job: Job) -> ProgressPoint:
        return ProgressPoint(job.seq, job.samples_done, job.estimate, job.stderr, job.updated_at)


def new_job(spec: JobSpec, job_id: str, seed: int, at: datetime) -> Job:
    return Job(
        job_id=job_id,
        owner=spec.owner,
        request_id=spec.request_id,
        model=spec.model,
        parameters=spec.parameters,
        seed=seed,
        requested_seed=spec.seed,
        shards=spec.shards,
        primary_output=spec.primary_output,
        block_size=spec.block_size,
        samples_total=spec.samples_total,
        blocks_total=blocks_total(spec.samples_total, spec.block_size),
        state=JobState.QUEUED,
        seq=1,
        created_at=at,
        updated_at=at,
        history=(StateChange(JobState.QUEUED, at, "submitted"),),
    )


def is_resubmission(job: Job, spec: JobSpec) -> bool:
    """Whether `spec` asks for exactly the job that its request_id already created."""
    return (job.model, job.parameters, job.requested_seed, job.shards) == (
        spec.model,
        spec.parameters,
        spec.seed,
        spec.shards,
    )


def transition(
    job: Job,
    target: JobState,
    at: datetime,
    reason: str,
    *,
    error: JobError | None = None,
    summary: dict[str, Any] | None = None,
) -> Job | None:
    """The job moved to `target`, or None for a late or duplicate report."""
    verdict = decide(job.state, target)
    if verdict is Verdict.IGNORE:
        return None
    if verdict is Verdict.REFUSE:
        if job.state in TERMINAL:
            raise _precondition(f"job {job.job_id} already {job.state.value}")
        raise _precondition(f"job {job.job_id} is {job.state.value}, cannot become {target.value}")
    if target is JobState.SUCCEEDED and job.blocks_done < job.blocks_total:
        raise _precondition(
            f"job {job.job_id} has {job.blocks_done} of {job.blocks_total} blocks; "
            "it cannot succeed before all are in"
        )
    return dataclasses.replace(
        job,
        state=target,
        seq=job.seq + 1,
        updated_at=at,
        history=(*job.history, StateChange(target, at, reason)),
        error=error if target is JobState.FAILED else job.error,
        summary=summary if target is JobState.SUCCEEDED else job.summary,
    )


def check_shard(job: Job, shard: int) -> None:
    if not 0 <= shard < job.shards:
        raise invalid("shard", f"must be in [0, {job.shards}), got {shard}")


def accepts_blocks(job: Job) -> bool:
    """Whether a block report is recorded: False once the job has ended (the shard should
    stop); refused before any shard started."""
    if job.state in TERMINAL:
        return False
    if job.state in (JobState.QUEUED, JobState.LAUNCHING):
        raise _precondition(f"job {job.job_id} is {job.state.value}: start the shard first")
    return True


def check_blocks(job: Job, shard: int, blocks: Sequence[BlockReport]) -> None:
    check_shard(job, shard)
    owned = job.shard_blocks(shard)
    for i, report in enumerate(blocks):
        if report.block not in owned:
            raise invalid(
                f"blocks[{i}].block",
                f"block {report.block} is not one of shard {shard}'s blocks of {job.blocks_total}",
            )
        if report.samples < 0:
            raise invalid(f"blocks[{i}].samples", f"must not be negative, got {report.samples}")


def record_blocks(job: Job, new_blocks: Sequence[BlockReport], at: datetime) -> Job:
    """The job with newly recorded blocks counted into its progress (merge order does not
    matter here: it is the live estimate; the result is merged in block order later)."""
    moments = job.moments
    for report in new_blocks:
        moments = moments.merge(report.moments.get(job.primary_output, Moments()))
    return dataclasses.replace(
        job,
        seq=job.seq + 1,
        updated_at=at,
        blocks_done=job.blocks_done + len(new_blocks),
        samples_done=job.samples_done + sum(report.samples for report in new_blocks),
        moments=moments,
    )


def claims_finalization(job: Job, shard: int, all_shards_done: bool) -> bool:
    """The first shard to finish the set finalizes; asking again (it may have crashed while
    finalizing) gets the same answer."""
    if not all_shards_done or job.state is not JobState.RUNNING:
        return False
    return job.finalizer_shard in (None, shard)


def _precondition(message: str) -> SimlabError:
    return SimlabError(Code.FAILED_PRECONDITION, message)
