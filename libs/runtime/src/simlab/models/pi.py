"""π by throwing points into the unit square: the share that lands inside the quarter disc
x² + y² < 1 estimates π/4."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simlab.core.stats import Moments, Stats
from simlab.models.base import Model, Output, Param, Params

POINTS_PER_BLOCK = 1_000_000


def block_size(params: Params) -> int:
    return min(params["samples"], POINTS_PER_BLOCK)


def _two_point_moments(hits: int, n: int, value: float) -> Moments:
    """Moments of n samples of which `hits` equal `value` and the rest 0, without building
    the array of samples."""
    mean = value * hits / n
    m2 = hits * (value - mean) ** 2 + (n - hits) * mean**2
    return Moments(n, mean, m2)


def simulate(params: Params, rng: np.random.Generator, n: int) -> Stats:
    points = rng.random((2, n))
    np.square(points, out=points)
    inside = int(np.count_nonzero(points[0] + points[1] < 1.0))
    return Stats(
        samples=n,
        moments={"estimate": _two_point_moments(inside, n, 4.0)},
        counts={"inside": inside},
    )


def summarize(params: Params, stats: Stats) -> dict[str, Any]:
    estimate = stats.moments["estimate"]
    return {
        "estimate": estimate.mean,
        "stderr": estimate.stderr,
        "exact": math.pi,
        "abs_error": abs(estimate.mean - math.pi),
        "samples": stats.samples,
    }


def data(params: Params, stats: Stats) -> dict[str, np.ndarray]:
    inside = stats.counts["inside"]
    return {
        "region": np.array(["inside", "outside"]),
        "points": np.array([inside, stats.samples - inside], dtype=np.int64),
    }


MODEL = Model(
    name="pi",
    title="π by Monte Carlo",
    description=(
        "Estimates π from the share of uniformly random points in the unit square that fall "
        "inside the quarter disc of radius 1."
    ),
    parameters=(
        Param(
            "samples",
            "Points",
            "int",
            default=10_000_000,
            minimum=1,
            maximum=100_000_000_000,
            unit="points",
            help=f"Random points to throw, in blocks of {POINTS_PER_BLOCK:,}. "
            "The standard error shrinks as 1/√points (about 1.6/√points).",
            sample_count=True,
        ),
    ),
    outputs=(
        Output("estimate", "Estimate of π", "", "Four times the share of points inside the disc."),
        Output("stderr", "Standard error", "", "Standard error of the estimate."),
        Output("exact", "π", "", "The exact value, for reference."),
        Output("abs_error", "Absolute error", "", "|estimate - π|."),
        Output("samples", "Points", "points", "Points thrown."),
    ),
    primary_output="estimate",
    reference="exact",
    block_size=block_size,
    simulate=simulate,
    summarize=summarize,
    data=data,
)
