"""Models that exist only for tests, loaded through SIMLAB_MODEL_MODULES: one that raises
part-way through a run, and one that runs slowly enough to be cancelled or interrupted."""

from __future__ import annotations

import time

import numpy as np

from simlab.core.stats import Moments, Stats
from simlab.models.base import Model, Output, Param, Params


def _explode(params: Params, rng: np.random.Generator, n: int) -> Stats:
    raise ValueError(f"model exploded on purpose (fail_at={params['fail_at']})")


def _slow(params: Params, rng: np.random.Generator, n: int) -> Stats:
    time.sleep(params["seconds_per_block"])
    return Stats(n, {"mean": Moments.of(rng.random(n))})


def _summary(params: Params, stats: Stats) -> dict[str, float]:
    return {"mean": stats.moments["mean"].mean, "stderr": stats.moments["mean"].stderr}


FAILING = Model(
    name="test_failing",
    title="Fails on purpose",
    description="Raises ValueError in its first block.",
    parameters=(
        Param("samples", "Samples", "int", 1000, minimum=1, sample_count=True),
        Param("fail_at", "Fail at", "int", 0, minimum=0),
    ),
    outputs=(Output("mean", "Mean"),),
    primary_output="mean",
    block_size=lambda params: 100,
    simulate=_explode,
    summarize=_summary,
)

SLOW = Model(
    name="test_slow",
    title="Slow uniform mean",
    description="Sleeps in every block: a run that lasts as long as a test needs.",
    parameters=(
        Param("samples", "Samples", "int", 1000, minimum=1, sample_count=True),
        Param("seconds_per_block", "Seconds per block", "float", 0.1, minimum=0, maximum=10),
    ),
    outputs=(Output("mean", "Mean"),),
    primary_output="mean",
    block_size=lambda params: 100,
    simulate=_slow,
    summarize=_summary,
)

MODELS = [FAILING, SLOW]
