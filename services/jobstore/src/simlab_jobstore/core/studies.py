"""Studies: a parameter sweep as one object whose points are ordinary run jobs. What a study
request must be, a study's state derived from its points (counted by state), and the paired
comparison of two finished points. Pure: the adapters read and write the rows."""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any

from simlab.common.errors import Code, SimlabError, invalid
from simlab.core.precision import Precision
from simlab.core.stats import Moments

from .jobs import Job, JobSpec
from .states import TERMINAL, JobState

MAX_POINTS_SETTING = "SIMLAB_JOBSTORE_MAX_STUDY_POINTS"
DEFAULT_MAX_POINTS = 10_000
MAX_TITLE_LENGTH = 200
# Points ended over this window make a study's rate (points_per_second) and its ETA.
RATE_WINDOW = timedelta(seconds=60)
COMPARE_CONFIDENCE = 0.95
# Fields of a point's JobSpec that differ from point to point (the others are the study's).
_POINT_FIELDS = ("parameters", "seed", "block_size", "samples_total")


class StudyState(enum.Enum):
    QUEUED = "QUEUED"  # no point has started yet
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"  # every point succeeded
    FAILED = "FAILED"  # every point ended, at least one failed
    CANCELLED = "CANCELLED"  # cancelled before every point ended


@dataclass(frozen=True)
class PointSpec:
    """One point as the gateway expanded and checked it."""

    parameters: dict[str, Any]
    seed: int
    block_size: int
    samples_total: int


@dataclass(frozen=True)
class NewStudy:
    """What the gateway asks for: every point runs the same model version."""

    owner: str
    request_id: str
    title: str
    # The serialized simlab.v1.StudySpec as submitted, its seed drawn: kept, never read here.
    spec: bytes
    model: str
    model_version: int
    code_sha256: str
    primary_output: str
    swept: tuple[str, ...]
    shards: int
    precision: Precision | None
    no_cache: bool
    points: tuple[PointSpec, ...]

    def points_digest(self) -> str:
        """What makes the sweep this sweep: each point's parameters, block size and samples,
        in order. Not the seeds: the gateway draws a new study seed for a spec without one."""
        digest = hashlib.sha256()
        for point in self.points:
            digest.update(
                json.dumps(
                    [point.parameters, point.block_size, point.samples_total],
                    sort_keys=True,
                    separators=(",", ":"),
                ).encode()
            )
        return digest.hexdigest()

    def validate(self, max_points: int) -> None:
        """The study's own fields; each point's are checked with its job (`point_job_spec`)."""
        for name in ("owner", "model", "primary_output"):
            if not getattr(self, name):
                raise invalid(name, "must not be empty")
        if len(self.title) > MAX_TITLE_LENGTH:
            raise invalid("spec.title", f"must be at most {MAX_TITLE_LENGTH} characters")
        if not self.points:
            raise invalid("points", "a study has at least one point")
        if len(self.points) > max_points:
            raise invalid(
                "points",
                f"at most {max_points:,} points in a study ({MAX_POINTS_SETTING}),"
                f" got {len(self.points):,}",
            )

    def point_job_spec(self, index: int, study_id: str = "") -> JobSpec:
        """The job of point `index`, as CreateJob would be asked for it (no request_id: the
        study's makes the points idempotent)."""
        point = self.points[index]
        return JobSpec(
            owner=self.owner,
            request_id="",
            model=self.model,
            parameters=point.parameters,
            seed=point.seed,
            shards=self.shards,
            primary_output=self.primary_output,
            block_size=point.block_size,
            samples_total=point.samples_total,
            model_version=self.model_version,
            code_sha256=self.code_sha256,
            precision=self.precision,
            no_cache=self.no_cache,
            study_id=study_id,
            study_point=index,
        )


def validate_point(spec: JobSpec, index: int) -> None:
    """JobSpec.validate, an error in a point's own field named `points[index].<field>`."""
    try:
        spec.validate()
    except SimlabError as error:
        if error.field not in _POINT_FIELDS:
            raise
        raise invalid(f"points[{index}].{error.field}", error.description) from None


@dataclass(frozen=True)
class StudyCounts:
    queued: int = 0
    # Launching, running or cancelling.
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def ended(self) -> int:
        return self.succeeded + self.failed + self.cancelled


@dataclass(frozen=True)
class PointTally:
    """A study's points in one state (a row of the GROUP BY state)."""

    state: JobState
    points: int
    samples_done: int
    samples_total: int
    # The latest change of any of them, and the earliest creation.
    last_change: datetime
    first_created: datetime
    # Cache hits among them: they ended at creation without running.
    reused: int = 0
    # Those that ran and changed within the rate window (counted for ended states only).
    changed_recently: int = 0


@dataclass(frozen=True)
class StudyProgress:
    state: StudyState
    counts: StudyCounts
    samples_done: int
    samples_total: int
    updated_at: datetime
    # Once every point ended: when the last one did.
    ended_at: datetime | None
    points_per_second: float
    eta_seconds: float
    queue_ahead: int


@dataclass(frozen=True)
class Study:
    study_id: str
    owner: str
    request_id: str
    title: str
    spec: bytes
    model: str
    model_version: int
    primary_output: str
    swept: tuple[str, ...]
    points: int
    points_digest: str
    created_at: datetime
    updated_at: datetime
    cancelled: bool
    progress: StudyProgress

    def is_resubmission(self, new: NewStudy) -> bool:
        """Whether `new` asks for this study again: the same model version and the same points
        (not the same seeds: the gateway draws a new seed for a spec that asked for none)."""
        return (self.model, self.model_version, self.swept, self.points_digest) == (
            new.model,
            new.model_version,
            new.swept,
            new.points_digest(),
        )


def counts_of(tallies: Sequence[PointTally]) -> StudyCounts:
    by_state = {tally.state: tally.points for tally in tallies}
    return StudyCounts(
        queued=by_state.get(JobState.QUEUED, 0),
        running=sum(
            by_state.get(state, 0)
            for state in (JobState.LAUNCHING, JobState.RUNNING, JobState.CANCELLING)
        ),
        succeeded=by_state.get(JobState.SUCCEEDED, 0),
        failed=by_state.get(JobState.FAILED, 0),
        cancelled=by_state.get(JobState.CANCELLED, 0),
    )


def study_state(counts: StudyCounts, points: int, reused: int, cancelled: bool) -> StudyState:
    """QUEUED until a point leaves the queue (cache hits never entered it), RUNNING until
    every point ended; then CANCELLED when a cancel was asked for, else FAILED when a point
    failed, else CANCELLED when a point was cancelled on its own, else SUCCEEDED."""
    if counts.ended < points:
        return StudyState.QUEUED if counts.queued + reused == points else StudyState.RUNNING
    if cancelled:
        return StudyState.CANCELLED
    if counts.failed:
        return StudyState.FAILED
    if counts.cancelled:
        return StudyState.CANCELLED
    return StudyState.SUCCEEDED


def first_queued_at(tallies: Sequence[PointTally]) -> datetime | None:
    """When the study's oldest queued point was queued; None when none is queued."""
    return next((t.first_created for t in tallies if t.state is JobState.QUEUED), None)


def study_progress(
    *,
    points: int,
    cancelled: bool,
    updated_at: datetime,
    tallies: Sequence[PointTally],
    queue_ahead: int,
) -> StudyProgress:
    """A study's progress from its points counted by state; `updated_at` is the study row's
    own (a change of a point changes the study too). The rate counts the points that ran and
    ended within RATE_WINDOW."""
    counts = counts_of(tallies)
    ended = [t for t in tallies if t.state in TERMINAL]
    rate = sum(t.changed_recently for t in ended) / RATE_WINDOW.total_seconds()
    remaining = points - counts.ended
    last_change = max((t.last_change for t in tallies), default=updated_at)
    return StudyProgress(
        state=study_state(counts, points, sum(t.reused for t in ended), cancelled),
        counts=counts,
        samples_done=sum(t.samples_done for t in tallies),
        samples_total=sum(t.samples_total for t in tallies),
        updated_at=max(updated_at, last_change),
        ended_at=last_change if remaining == 0 and tallies else None,
        points_per_second=rate,
        eta_seconds=remaining / rate if rate > 0 else 0.0,
        queue_ahead=queue_ahead,
    )


# ---- comparing two points ----------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    # estimate(b) - estimate(a) over the blocks both used: the sample-weighted mean of the
    # paired block differences.
    difference: float
    stderr: float
    stderr_independent: float
    correlation: float
    blocks: int
    confidence: float
    half_width: float


def blocks_used(job: Job) -> range:
    """The blocks a finished point's result merges: every block, or [first_block, end_block)
    of a precision run's stop."""
    first = 0 if job.stop is None else job.stop.first_block
    return range(first, job.end_block)


def check_comparable(job: Job, index: int) -> None:
    if job.state is not JobState.SUCCEEDED:
        raise SimlabError(
            Code.FAILED_PRECONDITION,
            f"point {index} is {job.state.value}: only points that SUCCEEDED compare",
        )


def compare(
    a: Job,
    b: Job,
    a_blocks: Mapping[int, Moments],
    b_blocks: Mapping[int, Moments],
    indexes: tuple[int, int],
) -> Comparison:
    """b - a from the blocks both points used, paired by block index (with common random
    numbers block i of both drew the same stream, so the pairs are correlated and the
    difference far more precise than two independent estimates).

    Block i's difference d_i = mean_b_i - mean_a_i has weight w_i = 2 n_a n_b / (n_a + n_b)
    (its sample count when both blocks have n samples; a shorter last block weighs less).
    difference = sum(w d) / W; with tau^2 = sum(w (d - difference)^2) / (n - 1) the variance
    of one sample's difference, stderr = sqrt(tau^2 / W): for equal blocks exactly
    sd(d) / sqrt(n)."""
    common = sorted(
        block
        for block in a_blocks.keys() & b_blocks.keys()
        if a_blocks[block].count > 0 and b_blocks[block].count > 0
    )
    if len(common) < 2:
        raise SimlabError(
            Code.FAILED_PRECONDITION,
            f"points {indexes[0]} and {indexes[1]} have {len(common)} block(s) in common:"
            " a paired comparison needs at least 2",
        )
    weights = [
        2 * a_blocks[i].count * b_blocks[i].count / (a_blocks[i].count + b_blocks[i].count)
        for i in common
    ]
    total = math.fsum(weights)
    a_means = [a_blocks[i].mean for i in common]
    b_means = [b_blocks[i].mean for i in common]
    diffs = [mb - ma for ma, mb in zip(a_means, b_means, strict=True)]
    difference = _weighted_mean(diffs, weights)
    tau2 = math.fsum(w * (d - difference) ** 2 for w, d in zip(weights, diffs, strict=True)) / (
        len(common) - 1
    )
    stderr = math.sqrt(tau2 / total)
    z = NormalDist().inv_cdf((1 + COMPARE_CONFIDENCE) / 2)
    return Comparison(
        difference=difference,
        stderr=stderr,
        stderr_independent=math.hypot(_stderr(a), _stderr(b)),
        correlation=_weighted_correlation(a_means, b_means, weights),
        blocks=len(common),
        confidence=COMPARE_CONFIDENCE,
        half_width=z * stderr,
    )


def _stderr(job: Job) -> float:
    return math.nan if job.stderr is None else job.stderr


def _weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    return math.fsum(w * v for w, v in zip(weights, values, strict=True)) / math.fsum(weights)


def _weighted_correlation(
    xs: Sequence[float], ys: Sequence[float], weights: Sequence[float]
) -> float:
    """Pearson's correlation with weights (the plain one for equal weights); NaN when either
    side does not vary."""
    mx, my = _weighted_mean(xs, weights), _weighted_mean(ys, weights)
    sxy = math.fsum(w * (x - mx) * (y - my) for w, x, y in zip(weights, xs, ys, strict=True))
    sxx = math.fsum(w * (x - mx) ** 2 for w, x in zip(weights, xs, strict=True))
    syy = math.fsum(w * (y - my) ** 2 for w, y in zip(weights, ys, strict=True))
    if sxx <= 0 or syy <= 0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)
