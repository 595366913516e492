"""Jobs as the store keeps them, and every change a job can go through. Each function takes a
job and returns the changed job (seq bumped), None when the request changes nothing, or raises
SimlabError when it must be refused."""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simlab.common.errors import Code, SimlabError, invalid
from simlab.core.blocks import blocks_total, shard_blocks
from simlab.core.precision import Precision, Prefix, Stop
from simlab.core.stats import Moments

from .states import TERMINAL, JobState, Verdict, decide

MAX_UINT64 = 2**64 - 1
MAX_ARGS = 256
MAX_ARG_LENGTH = 4096
MAX_RUNTIME_LENGTH = 1000
# Progress counts beyond this are not whole numbers a float holds exactly.
MAX_PROGRESS_COUNT = 2**53


class JobKind(enum.Enum):
    RUN = "run"
    # The sandboxed inspection of pushed code: internal, never shown to users.
    REGISTRATION = "registration"


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
    """What a client asks for. seed 0 asks for a random seed. model_version 0: code that is
    not a registered version (a job of before the registry)."""

    owner: str
    request_id: str
    model: str
    parameters: dict[str, Any]
    seed: int
    shards: int
    primary_output: str
    block_size: int
    samples_total: int
    model_version: int = 0
    code_sha256: str = ""
    args: tuple[str, ...] = ()
    # Stop at this precision, the sample count being the budget; None: draw every sample.
    precision: Precision | None = None
    # Run even when a finished run with the same fingerprint could be reused.
    no_cache: bool = False
    # A top-up of this finished run of the owner's: its blocks that are the same are reused.
    extends: str = ""
    # A point of a study: the study and the point's index in it ("": a job of no study).
    study_id: str = ""
    study_point: int = 0
    # Asked for the model's latest version: model_version must still be the latest the owner
    # sees when the job is created.
    latest: bool = False

    def validate(self, *, script: bool = False) -> None:
        """A script runs in one process and has no blocks: its block size, sample count and
        primary output are not asked for, and it has no precision target to stop at."""
        if script:
            for name in ("precision", "extends"):
                if getattr(self, name):
                    raise invalid(name, "a script model has no blocks: it runs to its end")
        for name in ("owner", "model") if script else ("owner", "model", "primary_output"):
            if not getattr(self, name):
                raise invalid(name, "must not be empty")
        for name in ("shards",) if script else ("shards", "block_size", "samples_total"):
            if getattr(self, name) < 1:
                raise invalid(name, f"must be at least 1, got {getattr(self, name)}")
        if script and self.shards != 1:
            raise invalid("shards", f"a script model runs as 1 shard, got {self.shards}")
        if self.model_version < 0:
            raise invalid("model_version", f"must not be negative, got {self.model_version}")
        if len(self.args) > MAX_ARGS:
            raise invalid("args", f"at most {MAX_ARGS} arguments, got {len(self.args)}")
        for i, arg in enumerate(self.args):
            if len(arg) > MAX_ARG_LENGTH or "\0" in arg:
                raise invalid(f"args[{i}]", f"must be at most {MAX_ARG_LENGTH} characters, no NUL")


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
    kind: JobKind = JobKind.RUN
    # The code that runs: a registered version of `model` (0: none) and its bundle's sha256.
    model_version: int = 0
    code_sha256: str = ""
    # What the first worker that said so runs on (image, Python, NumPy, SciPy).
    runtime: str = ""
    args: tuple[str, ...] = ()
    # What a script said last (it has no blocks, hence no moments).
    reported_estimate: float | None = None
    reported_stderr: float | None = None
    precision: Precision | None = None
    # With a precision: the contiguous blocks 0..prefix.blocks-1 that are in, and where the
    # run stops once the job store has decided it (never changed afterwards).
    prefix: Prefix = dataclasses.field(default_factory=Prefix)
    stop: Stop | None = None
    # Of a blocks run with an explicit seed (simlab_jobstore.core.targets.fingerprint).
    fingerprint: str | None = None
    # A cache hit: the finished job whose result this job is.
    cached_from: str = ""
    # A top-up: the finished job whose identical blocks this job reused.
    extends: str = ""
    # A point of a study: the study and the point's index in it ("" : a job of no study).
    study_id: str = ""
    study_point: int = 0

    @property
    def end_block(self) -> int:
        """The blocks the result needs are those below this one: the stop's end once it is
        decided, else every block."""
        return self.stop.end_block if self.stop is not None else self.blocks_total

    @property
    def blocks_complete(self) -> bool:
        """Whether every block the result needs is in: with a precision, the prefix reached
        the stop; else every block was recorded."""
        if self.precision is not None:
            return self.stop is not None and self.prefix.blocks >= self.stop.end_block
        return self.blocks_done >= self.blocks_total

    @property
    def live_moments(self) -> Moments:
        """What the estimate shows: the running moments of every recorded block, or, once a
        precision run's prefix reached its stop, those of the result's blocks (the prefix)."""
        if self.precision is not None and self.blocks_complete:
            return self.prefix.moments
        return self.moments

    @property
    def estimate(self) -> float | None:
        moments = self.live_moments
        return moments.mean if moments.count > 0 else self.reported_estimate

    @property
    def stderr(self) -> float | None:
        moments = self.live_moments
        return moments.stderr if moments.count > 1 else self.reported_stderr

    @property
    def script(self) -> bool:
        """A run without blocks: it reports progress, not blocks, and succeeds without any."""
        return self.kind is JobKind.RUN and self.blocks_total == 0

    def shard_blocks(self, shard: int) -> range:
        return shard_blocks(shard, self.shards, self.blocks_total)

    def needed_blocks(self, shard: int) -> range:
        """The shard's blocks that the result needs (none for a shard s >= end_block)."""
        return shard_blocks(shard, self.shards, self.end_block)

    @property
    def needed_shards(self) -> int:
        """Shards 0..needed_shards-1 have needed blocks; the others count as done."""
        return min(self.shards, self.end_block)


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


@dataclass(frozen=True)
class ScriptProgress:
    """What a script reported with simlab.report(): units done and expected (0: unknown), in
    its own units, and optionally its running estimate and standard error."""

    done: float
    total: float
    estimate: float | None = None
    stderr: float | None = None


def new_job(spec: JobSpec, job_id: str, seed: int, at: datetime, *, script: bool = False) -> Job:
    """A queued run; a script's has no blocks (its progress comes from its reports)."""
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
        block_size=0 if script else spec.block_size,
        samples_total=0 if script else spec.samples_total,
        blocks_total=0 if script else blocks_total(spec.samples_total, spec.block_size),
        state=JobState.QUEUED,
        seq=1,
        created_at=at,
        updated_at=at,
        history=(StateChange(JobState.QUEUED, at, "submitted"),),
        model_version=spec.model_version,
        code_sha256=spec.code_sha256,
        args=spec.args,
        precision=spec.precision,
        extends=spec.extends,
        study_id=spec.study_id,
        study_point=spec.study_point,
    )


def new_registration_job(
    owner: str, request_id: str, name: str, code_sha256: str, job_id: str, at: datetime
) -> Job:
    """The hidden job that inspects pushed code: one shard, no blocks."""
    return Job(
        job_id=job_id,
        owner=owner,
        request_id=request_id,
        model=name,
        parameters={},
        seed=0,
        requested_seed=0,
        shards=1,
        primary_output="",
        block_size=0,
        samples_total=0,
        blocks_total=0,
        state=JobState.QUEUED,
        seq=1,
        created_at=at,
        updated_at=at,
        history=(StateChange(JobState.QUEUED, at, "code pushed"),),
        kind=JobKind.REGISTRATION,
        code_sha256=code_sha256,
    )


def is_resubmission(job: Job, spec: JobSpec) -> bool:
    """Whether `spec` asks for exactly the job that its request_id already created. Which
    run a top-up extends is not compared: the job records the run whose blocks it reused
    (resolved from a cache hit), and any source gives the same result."""
    return job.kind is JobKind.RUN and (
        job.model,
        job.model_version,
        job.parameters,
        job.requested_seed,
        job.shards,
        job.args,
        job.precision,
    ) == (
        spec.model,
        spec.model_version,
        spec.parameters,
        spec.seed,
        spec.shards,
        spec.args,
        spec.precision,
    )


def with_runtime(job: Job, runtime: str) -> Job:
    """The job with the runtime its first worker reported (later ones change nothing)."""
    if len(runtime) > MAX_RUNTIME_LENGTH:
        raise invalid("runtime", f"must be at most {MAX_RUNTIME_LENGTH} characters")
    if job.runtime or not runtime:
        return job
    return dataclasses.replace(job, runtime=runtime)


def transition(
    job: Job,
    target: JobState,
    at: datetime,
    reason: str,
    *,
    error: JobError | None = None,
    summary: dict[str, Any] | None = None,
) -> Job | None:
    """The job moved to `target`, or None for a late or duplicate report. A queued job
    reported QUEUED with a new reason gets that reason as its latest entry: why it waits."""
    if job.state is target is JobState.QUEUED and reason and reason != job.history[-1].reason:
        return dataclasses.replace(
            job,
            seq=job.seq + 1,
            updated_at=at,
            history=(*job.history, StateChange(target, at, reason)),
        )
    verdict = decide(job.state, target)
    if verdict is Verdict.IGNORE:
        return None
    if verdict is Verdict.REFUSE:
        if job.state in TERMINAL:
            raise _precondition(f"job {job.job_id} already {job.state.value}")
        raise _precondition(f"job {job.job_id} is {job.state.value}, cannot become {target.value}")
    if target is JobState.SUCCEEDED and not job.blocks_complete:
        raise _precondition(
            f"job {job.job_id} has {job.blocks_done} of {job.blocks_total} blocks"
            + (
                ""
                if job.stop is None
                else f" (its prefix: {job.prefix.blocks} of the {job.stop.end_block} it needs)"
            )
            + "; it cannot succeed before all are in"
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


def cancel_point(job: Job, at: datetime) -> Job | None:
    """A study's cancel request, for one of its points: a queued point ends CANCELLED at once
    (no worker was launched: there is nothing to stop), a launched one becomes CANCELLING as
    CancelJob makes it (the runner stops its workers, then reports CANCELLED); None for a
    point that is cancelling or ended already."""
    reason = "study cancelled"
    if job.state is JobState.QUEUED:
        return dataclasses.replace(
            job,
            state=JobState.CANCELLED,
            seq=job.seq + 1,
            updated_at=at,
            history=(*job.history, StateChange(JobState.CANCELLED, at, reason)),
        )
    if job.state in (JobState.LAUNCHING, JobState.RUNNING):
        return transition(job, JobState.CANCELLING, at, reason)
    return None


def succeed(job: Job, summary: dict[str, Any], at: datetime) -> Job | None:
    """A run's success with its summary; a registration succeeds only with its version."""
    if job.kind is JobKind.REGISTRATION:
        raise _precondition(
            f"job {job.job_id} is a registration: it completes with CompleteRegistration"
        )
    return transition(job, JobState.SUCCEEDED, at, "done", summary=summary)


def registered(job: Job, name: str, version: int, at: datetime) -> Job | None:
    """A registration's success: its code is `name`@v`version`."""
    if job.kind is not JobKind.REGISTRATION:
        raise _precondition(f"job {job.job_id} is not a registration")
    summary = {"model": name, "version": version}
    return transition(job, JobState.SUCCEEDED, at, f"registered {name}@v{version}", summary=summary)


def check_shard(job: Job, shard: int) -> None:
    if not 0 <= shard < job.shards:
        raise invalid("shard", f"must be in [0, {job.shards}), got {shard}")


def check_worker_may_read(job: Job) -> None:
    """A worker reads (the job's code) or writes (its results) only while the job runs."""
    if job.state in TERMINAL:
        raise _precondition(f"job {job.job_id} already {job.state.value}: its workers are done")


def check_attempt(job: Job, shard: int, attempt: int, highest: int) -> None:
    """Fencing: only the shard's latest launch may write. FAILED_PRECONDITION, not
    PERMISSION_DENIED: the token is genuine and was valid for this shard; what refuses the
    call is the state (a later launch exists), and the caller should stop, not re-auth."""
    if attempt < highest:
        raise _precondition(
            f"attempt {attempt} of shard {shard} of job {job.job_id} was superseded by"
            f" attempt {highest}"
        )


def accepts_blocks(job: Job) -> bool:
    """Whether a report (blocks, or a script's progress) is recorded: False once the job has
    ended (the shard should stop); refused before any shard started."""
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


def record_progress(job: Job, shard: int, progress: ScriptProgress, at: datetime) -> Job | None:
    """The script job with its latest report, or None when the report changes nothing.
    samples_total keeps its last known value while the script says it does not know."""
    check_shard(job, shard)
    if not job.script:
        raise _precondition(f"job {job.job_id} runs in blocks: it reports blocks, not progress")
    for name in ("done", "total"):
        value = getattr(progress, name)
        if not (math.isfinite(value) and 0 <= value <= MAX_PROGRESS_COUNT):
            raise invalid(name, f"must be a number in [0, {MAX_PROGRESS_COUNT}], got {value}")
    changed = dataclasses.replace(
        job,
        samples_done=round(progress.done),
        samples_total=round(progress.total) if progress.total > 0 else job.samples_total,
        # A NaN or an infinity is no estimate: shown as none rather than refused.
        reported_estimate=_finite(progress.estimate),
        reported_stderr=_finite(progress.stderr),
    )
    if changed == job:
        return None
    return dataclasses.replace(changed, seq=job.seq + 1, updated_at=at)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def claims_finalization(job: Job, shard: int, all_shards_done: bool) -> bool:
    """The first shard to finish the set finalizes; asking again (it may have crashed while
    finalizing) gets the same answer."""
    if not all_shards_done or job.state is not JobState.RUNNING:
        return False
    return job.finalizer_shard in (None, shard)


def _precondition(message: str) -> SimlabError:
    return SimlabError(Code.FAILED_PRECONDITION, message)
