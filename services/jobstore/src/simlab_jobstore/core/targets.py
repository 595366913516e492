"""Precision targets, the result cache and top-ups, as far as the job store decides them: where
a run stops (simlab.core.precision's rule fed with the contiguous prefix of recorded blocks),
what is reported of it, a run's fingerprint, a cache hit's job, and which blocks a top-up may
reuse. Pure: the adapters read and write the rows."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simlab.common.errors import Code, SimlabError, invalid
from simlab.core.blocks import ENGINE_VERSION, block_samples
from simlab.core.precision import TWO_STAGE_INFLATION, StopReason, advance
from simlab.core.stats import Moments

from .jobs import Job, JobKind, JobSpec, StateChange
from .states import JobState


@dataclass(frozen=True)
class StopInfo:
    """What is reported of a decided stop (simlab.v1.StopInfo)."""

    reason: StopReason
    first_block: int
    end_block: int
    samples_used: int
    # Of the primary output over [first_block, end_block); None until they are all in.
    half_width: float | None
    confidence: float
    # Blocks recorded at or past end_block: exact once the prefix reached end_block (every
    # block below it is in), a lower bound before.
    blocks_discarded: int


def grow_prefix(job: Job, blocks: Iterable[tuple[int, Moments]]) -> Job:
    """The job with its prefix advanced over `blocks` (recorded blocks in block order, with
    their primary output's moments), as far as they are contiguous with it: up to the first
    gap, or to the stop. A stop decided on the way is recorded; a decided one is kept."""
    if job.precision is None:
        return job
    prefix, stop = job.prefix, job.stop
    for block, moments in blocks:
        end = stop.end_block if stop is not None else job.blocks_total
        if prefix.blocks >= end:
            break
        if block < prefix.blocks:
            continue
        if block != prefix.blocks:
            break
        prefix, decided = advance(
            job.precision,
            prefix,
            stop,
            block,
            moments,
            blocks_total=job.blocks_total,
            block_size=job.block_size,
        )
        stop = decided or stop
    return dataclasses.replace(job, prefix=prefix, stop=stop)


def prefix_wants(job: Job) -> bool:
    """Whether the prefix can still grow: a precision is set and it has not reached the
    blocks the result needs."""
    return job.precision is not None and job.prefix.blocks < job.end_block


def stop_block(job: Job) -> int:
    """What workers are told: blocks at or past this one are not needed; 0: all are."""
    return 0 if job.stop is None else job.stop.end_block


def samples_used(job: Job) -> int:
    """Samples in the blocks [first_block, end_block) of the stop (0 without one)."""
    if job.stop is None or job.stop.end_block <= job.stop.first_block:
        return 0
    first, end = job.stop.first_block, job.stop.end_block
    full = (end - 1 - first) * job.block_size
    return full + block_samples(end - 1, job.samples_total, job.block_size)


def stop_info(job: Job) -> StopInfo | None:
    if job.stop is None or job.precision is None:
        return None
    complete = job.prefix.blocks >= job.stop.end_block
    return StopInfo(
        reason=job.stop.reason,
        first_block=job.stop.first_block,
        end_block=job.stop.end_block,
        samples_used=samples_used(job),
        half_width=job.precision.half_width(job.prefix.moments) if complete else None,
        confidence=job.precision.confidence,
        blocks_discarded=max(0, job.blocks_done - job.stop.end_block),
    )


def samples_to_target(job: Job) -> int:
    """With a precision and no stop yet: the samples the run is estimated to need, from the
    running moments (two-stage: the pilot's samples and the second stage's); 0 when unknown."""
    if job.precision is None or job.stop is not None:
        return 0
    if not job.precision.two_stage:
        return job.precision.samples_needed(job.moments) or 0
    needed = job.precision.samples_needed(job.moments, TWO_STAGE_INFLATION)
    return 0 if needed is None else job.precision.min_blocks * job.block_size + needed


# ---- the result cache ----------------------------------------------------------------------


def fingerprint(job: Job, runtime: str) -> str | None:
    """What makes a blocks run's result: sha256 of the canonical JSON of the engine version,
    the code (model, version, bundle sha256, the runtime its version was inspected on), the
    parameters, the seed, the blocks and the precision. None for a run that is never reused:
    a random seed (0 asked for), a script, a registration, code outside the registry."""
    if (
        job.kind is not JobKind.RUN
        or job.script
        or job.requested_seed == 0
        or job.model_version <= 0
        or not job.code_sha256
    ):
        return None
    canonical = json.dumps(
        {
            "engine": ENGINE_VERSION,
            "model": job.model,
            "model_version": job.model_version,
            "code_sha256": job.code_sha256,
            "runtime": runtime,
            "parameters": _canonical_numbers(job.parameters),
            "seed": job.seed,
            "block_size": job.block_size,
            "samples_total": job.samples_total,
            "precision": None if job.precision is None else dataclasses.asdict(job.precision),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical_numbers(value: Any) -> Any:
    """Whole floats as ints: parameters arrive as Struct numbers (floats) or from JSON."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _canonical_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical_numbers(item) for item in value]
    return value


def reuse(job: Job, source: Job, at: datetime) -> Job:
    """The new job as a cache hit of `source`: SUCCEEDED at once with its result."""
    reason = (
        f"reused the result of {source.job_id}: same code, runtime, parameters, seed and precision"
    )
    return dataclasses.replace(
        job,
        state=JobState.SUCCEEDED,
        history=(StateChange(JobState.SUCCEEDED, at, reason),),
        cached_from=source.job_id,
        summary=source.summary,
        blocks_done=source.blocks_done,
        samples_done=source.samples_done,
        moments=source.moments,
        prefix=source.prefix,
        stop=source.stop,
        runtime=source.runtime,
    )


# ---- top-ups -------------------------------------------------------------------------------


def check_extension(spec: JobSpec, source: Job) -> None:
    """A top-up reuses blocks only of a finished blocks run of the same code, seed, blocks and
    parameters (but the sample count): refused naming what differs."""
    if source.kind is not JobKind.RUN or source.script:
        raise SimlabError(
            Code.FAILED_PRECONDITION,
            f"job {source.job_id} is not a blocks run: it has no blocks to reuse",
            field="extends",
        )
    if source.state is not JobState.SUCCEEDED:
        raise SimlabError(
            Code.FAILED_PRECONDITION,
            f"job {source.job_id} is {source.state.value}: only a SUCCEEDED run can be extended",
            field="extends",
        )
    for name, asked in (
        ("model", spec.model),
        ("model_version", spec.model_version),
        ("seed", spec.seed),
        ("block_size", spec.block_size),
        ("primary_output", spec.primary_output),
    ):
        if asked != getattr(source, name):
            raise invalid(
                name,
                f"must be {getattr(source, name)!r}, as in job {source.job_id} that it extends;"
                f" got {asked!r}",
            )
    differing = sorted(
        key
        for key in spec.parameters.keys() | source.parameters.keys()
        if spec.parameters.get(key) != source.parameters.get(key)
        # The sample count: the one parameter a top-up changes.
        and not (
            spec.parameters.get(key) == spec.samples_total
            and source.parameters.get(key) == source.samples_total
        )
    )
    if differing:
        raise invalid(
            f"parameters.{differing[0]}",
            f"must be as in job {source.job_id} that it extends (only the sample count may change)",
        )


def reusable_blocks(source: Job, job: Job) -> int:
    """Blocks 0..n-1 are the same in both runs (same stream, same sample count): every block
    of both but a last one whose sample count differs."""
    common = min(source.blocks_total, job.blocks_total)
    if common == 0:
        return 0
    last = common - 1
    same_last = block_samples(last, source.samples_total, source.block_size) == block_samples(
        last, job.samples_total, job.block_size
    )
    return common if same_last else last


def extended(job: Job, source: Job, blocks: list[tuple[int, Moments]], at: datetime) -> Job:
    """The new job with the reused `blocks` (block, primary moments; in block order) counted
    into its progress and its prefix advanced over them."""
    moments = job.moments
    for _, block_moments in blocks:
        moments = moments.merge(block_moments)
    counted = dataclasses.replace(
        job,
        blocks_done=len(blocks),
        samples_done=sum(block_samples(b, job.samples_total, job.block_size) for b, _ in blocks),
        moments=moments,
        history=(
            StateChange(
                JobState.QUEUED,
                at,
                f"submitted: extends {source.job_id}, {len(blocks)} blocks reused",
            ),
        ),
    )
    return grow_prefix(counted, blocks)
