"""Where a run with a precision target stops: the rule, applied to the contiguous prefix of its
blocks in block order, so it stops at the same block whatever the number of shards.

Sequential rule (the default): after a pilot of `min_blocks` blocks, the run stops at the first
prefix of k blocks whose confidence-interval half-width z * sd / sqrt(n) is at most
max(abs_tol, rel_tol * |estimate|), or when the budget runs out. Checking the interval after
every block is optional stopping: its coverage may fall a little short of the nominal level.

Two-stage rule (Stein's; QMCPy's CubMCCLT, OpenTURNS' coefficient-of-variation rule): the pilot
only sizes the run, n = ceil((z * 1.2 * sd / tol)^2) samples (1.2 inflates the pilot's standard
deviation, as CubMCCLT does), and the result comes from the next n samples' blocks alone, whose
number does not depend on their own values: the interval has its nominal coverage.

Pure: no I/O. The job store feeds blocks in as the prefix grows and records what it decides."""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from statistics import NormalDist

from simlab.common.errors import invalid

from .stats import Moments

DEFAULT_CONFIDENCE = 0.95
DEFAULT_MIN_BLOCKS = 10
# The pilot's standard deviation is inflated by this much to size a two-stage run (CubMCCLT).
TWO_STAGE_INFLATION = 1.2
MAX_MIN_BLOCKS = 1_000_000


class StopReason(enum.Enum):
    PRECISION_REACHED = "precision_reached"
    BUDGET_EXHAUSTED = "budget_exhausted"


@dataclass(frozen=True)
class Precision:
    rel_tol: float = 0.0
    abs_tol: float = 0.0
    confidence: float = DEFAULT_CONFIDENCE
    min_blocks: int = DEFAULT_MIN_BLOCKS
    two_stage: bool = False

    @staticmethod
    def of(
        rel_tol: float = 0.0,
        abs_tol: float = 0.0,
        confidence: float = 0.0,
        min_blocks: int = 0,
        two_stage: bool = False,
    ) -> Precision:
        """From the wire, where 0 means the default; INVALID_ARGUMENT naming the field."""
        for name, value in (("rel_tol", rel_tol), ("abs_tol", abs_tol)):
            if not (math.isfinite(value) and value >= 0):
                raise invalid(f"precision.{name}", f"must be a finite number ≥ 0, got {value}")
        if rel_tol == 0 and abs_tol == 0:
            raise invalid("precision.rel_tol", "set rel_tol or abs_tol (or both) above 0")
        if confidence == 0:
            confidence = DEFAULT_CONFIDENCE
        if not (math.isfinite(confidence) and 0 < confidence < 1):
            raise invalid("precision.confidence", f"must be in (0, 1), got {confidence}")
        if min_blocks == 0:
            min_blocks = DEFAULT_MIN_BLOCKS
        if not 2 <= min_blocks <= MAX_MIN_BLOCKS:
            raise invalid(
                "precision.min_blocks", f"must be in [2, {MAX_MIN_BLOCKS:,}], got {min_blocks}"
            )
        return Precision(rel_tol, abs_tol, confidence, min_blocks, two_stage)

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf((1 + self.confidence) / 2)

    def tolerance(self, estimate: float) -> float:
        """The half-width the target asks for at this estimate."""
        return max(self.abs_tol, self.rel_tol * abs(estimate))

    def half_width(self, moments: Moments) -> float:
        return self.z * moments.stderr if moments.count > 1 else math.inf

    def met(self, moments: Moments) -> bool:
        return self.half_width(moments) <= self.tolerance(moments.mean)

    def samples_needed(self, moments: Moments, inflation: float = 1.0) -> int | None:
        """Samples for the interval to meet the target, from these moments; None without a
        variance or with a zero tolerance."""
        tolerance = self.tolerance(moments.mean)
        if moments.count < 2 or tolerance <= 0 or not math.isfinite(moments.variance):
            return None
        needed = (self.z * inflation * math.sqrt(moments.variance) / tolerance) ** 2
        return math.ceil(min(needed, 2.0**62))


@dataclass(frozen=True)
class Stop:
    reason: StopReason
    # The result merges blocks [first_block, end_block).
    first_block: int
    end_block: int


@dataclass(frozen=True)
class Prefix:
    """The blocks 0..blocks-1 are all in; `moments` merges blocks start..blocks-1 of them in
    block order (start is 0, or the first block after a two-stage pilot)."""

    blocks: int = 0
    start: int = 0
    moments: Moments = dataclasses.field(default_factory=Moments)


def advance(
    precision: Precision,
    prefix: Prefix,
    stop: Stop | None,
    block: int,
    moments: Moments,
    *,
    blocks_total: int,
    block_size: int,
) -> tuple[Prefix, Stop | None]:
    """Block `block` (the next of the prefix, with its primary output's moments) joins the
    prefix; the stop, when this block decides it. A decided stop is never changed, and blocks
    past it do not join."""
    if block != prefix.blocks:
        raise ValueError(f"block {block} is not the next of a prefix of {prefix.blocks}")
    if stop is not None and block >= stop.end_block:
        return prefix, None  # past the stop: computed, but not part of the result
    grown = Prefix(block + 1, prefix.start, prefix.moments.merge(moments))
    if stop is not None:
        return grown, None
    k = grown.blocks
    if not precision.two_stage:
        if k >= precision.min_blocks and precision.met(grown.moments):
            return grown, Stop(StopReason.PRECISION_REACHED, 0, k)
        if k >= blocks_total:
            return grown, Stop(StopReason.BUDGET_EXHAUSTED, 0, blocks_total)
        return grown, None
    if k >= blocks_total:
        # The pilot took the whole budget: its blocks are the result.
        return grown, Stop(StopReason.BUDGET_EXHAUSTED, 0, blocks_total)
    if k < precision.min_blocks:
        return grown, None
    # The pilot is complete: it sizes the second stage, whose blocks alone make the result.
    needed = precision.samples_needed(grown.moments, TWO_STAGE_INFLATION)
    end = k + (1 if needed is None else max(1, -(-needed // block_size)))
    reason = StopReason.PRECISION_REACHED if end <= blocks_total else StopReason.BUDGET_EXHAUSTED
    return Prefix(k, k, Moments()), Stop(reason, k, min(end, blocks_total))
