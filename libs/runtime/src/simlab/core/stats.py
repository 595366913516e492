"""Mergeable sufficient statistics of sampling blocks.

Every block yields a `Stats`; blocks are merged in block order (Chan et al.'s pairwise update
for the moments), so a run's merged statistics are bit-identical however its blocks were
spread over shards."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Moments:
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @staticmethod
    def of(samples: ArrayLike) -> Moments:
        x = np.asarray(samples, dtype=np.float64).ravel()
        if x.size == 0:
            return Moments()
        mean = float(x.mean())
        return Moments(int(x.size), mean, float(np.square(x - mean).sum()))

    def merge(self, other: Moments) -> Moments:
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / n
        m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / n
        return Moments(n, mean, m2)

    @property
    def variance(self) -> float:
        return self.m2 / (self.count - 1) if self.count > 1 else math.nan

    @property
    def stderr(self) -> float:
        return math.sqrt(self.variance / self.count) if self.count > 1 else math.nan


@dataclass(frozen=True)
class Minimum:
    value: float = math.inf
    argmin: tuple[float, ...] = ()

    def merge(self, other: Minimum) -> Minimum:
        # Ties keep the earlier block's point, so the merge stays order-determined.
        return other if other.value < self.value else self


@dataclass(frozen=True)
class Histogram:
    lo: float
    hi: float
    counts: tuple[int, ...]
    below: int = 0
    above: int = 0

    @staticmethod
    def of(samples: ArrayLike, lo: float, hi: float, bins: int) -> Histogram:
        x = np.asarray(samples, dtype=np.float64).ravel()
        counts, _ = np.histogram(x, bins=bins, range=(lo, hi))
        # np.histogram closes the last bin; count x == hi as above to keep bins half-open.
        at_hi = int(np.count_nonzero(x == hi))
        counts[-1] -= at_hi
        return Histogram(
            lo,
            hi,
            tuple(int(c) for c in counts),
            int(np.count_nonzero(x < lo)),
            int(np.count_nonzero(x > hi)) + at_hi,
        )

    def merge(self, other: Histogram) -> Histogram:
        if (self.lo, self.hi, len(self.counts)) != (other.lo, other.hi, len(other.counts)):
            raise ValueError("histograms with different bins cannot be merged")
        return Histogram(
            self.lo,
            self.hi,
            tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            self.below + other.below,
            self.above + other.above,
        )

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(self.lo, self.hi, len(self.counts) + 1)


@dataclass(frozen=True)
class Stats:
    """The statistics of one block, or of several merged. `samples` counts what was drawn."""

    samples: int = 0
    moments: dict[str, Moments] = field(default_factory=dict)
    minima: dict[str, Minimum] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    histograms: dict[str, Histogram] = field(default_factory=dict)

    def merge(self, other: Stats) -> Stats:
        return Stats(
            self.samples + other.samples,
            _merge_maps(self.moments, other.moments, Moments.merge),
            _merge_maps(self.minima, other.minima, Minimum.merge),
            _merge_maps(self.counts, other.counts, int.__add__),
            _merge_maps(self.histograms, other.histograms, Histogram.merge),
        )


def _merge_maps(
    a: dict[str, Any], b: dict[str, Any], merge: Callable[[Any, Any], Any]
) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = merge(out[key], value) if key in out else value
    return out


def merge_in_order(blocks: Iterable[Stats]) -> Stats:
    """Left fold in the given order; callers pass blocks sorted by block index."""
    merged = Stats()
    for block in blocks:
        merged = merged.merge(block)
    return merged
