"""Coverage of the intervals a precision target gives, on a model with a known answer: the
European call against Black-Scholes, run through the worker's engine (run_block, finalize)
with the job store's stopping rule deciding where each run stops, as in a real run.

Over 1,000 independent seeds, the two-stage interval must cover the closed form at its nominal
rate within 4 binomial standard errors. The sequential rule's rate (optional stopping) is
reported: it may fall short of nominal, which is why two-stage exists."""

from __future__ import annotations

import math

import pytest

from simlab.core.params import validate
from simlab.core.precision import Precision, Prefix, Stop, advance
from simlab.models.european_option import MODEL, black_scholes
from simlab_worker.core.engine import Run, finalize, run_block

RUNS = 1000
CONFIDENCE = 0.9
# sd of the discounted payoff ≈ 14: ±0.5 at 90 % takes about 2,100 paths, about 10 blocks of
# 200 after a pilot of 5, well inside the budget of 200 blocks.
PARAMS = validate(
    MODEL,
    {"spot": 100, "strike": 105, "volatility": 0.2, "maturity": 1, "rate": 0.05, "paths": 40_000},
)
BLOCK_SIZE = 200


def one_run(seed: int, precision: Precision) -> tuple[float, float, Stop]:
    """(estimate, half-width, stop) of one run, the blocks fed in order as the job store
    would see them."""
    run = Run(MODEL, PARAMS, seed, BLOCK_SIZE, PARAMS["paths"], precision)
    prefix, stop, blocks = Prefix(), None, []
    for block in range(run.blocks_total):
        stats = run_block(run, block)
        blocks.append((block, stats))
        prefix, decided = advance(
            precision,
            prefix,
            stop,
            block,
            stats.moments[MODEL.primary_output],
            blocks_total=run.blocks_total,
            block_size=BLOCK_SIZE,
        )
        stop = decided or stop
        if stop is not None and prefix.blocks >= stop.end_block:
            break
    assert stop is not None
    used = [pair for pair in blocks if stop.first_block <= pair[0] < stop.end_block]
    summary = finalize(run, used, stop).summary
    return summary["price"], summary["half_width"], stop


@pytest.mark.parametrize("two_stage", [True, False], ids=["two-stage", "sequential"])
def test_intervals_cover_the_closed_form(two_stage: bool) -> None:
    truth, _ = black_scholes(PARAMS)
    precision = Precision.of(abs_tol=0.5, confidence=CONFIDENCE, min_blocks=5, two_stage=two_stage)
    covered, met, samples = 0, 0, 0
    for seed in range(1, RUNS + 1):
        estimate, half_width, stop = one_run(seed, precision)
        covered += abs(estimate - truth) <= half_width
        met += half_width <= 0.5
        samples += (stop.end_block - stop.first_block) * BLOCK_SIZE
    rate = covered / RUNS
    se = math.sqrt(CONFIDENCE * (1 - CONFIDENCE) / RUNS)
    rule = "two-stage" if two_stage else "sequential"
    print(
        f"{rule}: {rate:.1%} of {RUNS} intervals at {CONFIDENCE:.0%} cover Black-Scholes"
        f" (±{4 * se:.1%} at 4 SE), target met in {met / RUNS:.0%},"
        f" {samples / RUNS:,.0f} paths per run"
    )
    if two_stage:
        assert abs(rate - CONFIDENCE) <= 4 * se, rate
    else:
        # Optional stopping: the rate is reported; it must still be a sane interval.
        assert rate >= CONFIDENCE - 0.15, rate
        assert met == RUNS
