"""The stopping rule on its own: where it stops, that it never changes its mind, and that
the two-stage interval covers a known answer at its nominal rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simlab.common.errors import SimlabError
from simlab.core.precision import Precision, Prefix, Stop, StopReason, advance
from simlab.core.stats import Moments


def run(precision: Precision, blocks: list[Moments], block_size: int) -> tuple[Prefix, Stop]:
    prefix, stop = Prefix(), None
    for i, moments in enumerate(blocks):
        prefix, decided = advance(
            precision, prefix, stop, i, moments, blocks_total=len(blocks), block_size=block_size
        )
        if decided is not None:
            assert stop is None, "a stop is decided once"
            stop = decided
        if stop is not None and prefix.blocks >= stop.end_block:
            break
    assert stop is not None
    return prefix, stop


def normal_blocks(seed: int, n_blocks: int, block_size: int, mu: float = 1.0) -> list[Moments]:
    rng = np.random.default_rng(seed)
    return [Moments.of(rng.normal(mu, 1.0, block_size)) for _ in range(n_blocks)]


def test_defaults_and_fields_named_in_errors() -> None:
    p = Precision.of(rel_tol=1e-3)
    assert (p.confidence, p.min_blocks, p.two_stage) == (0.95, 10, False)
    assert p.z == pytest.approx(1.959964, abs=1e-6)
    for kwargs, field in [
        ({}, "precision.rel_tol"),
        ({"rel_tol": -1.0}, "precision.rel_tol"),
        ({"abs_tol": math.nan}, "precision.abs_tol"),
        ({"abs_tol": 0.1, "confidence": 1.0}, "precision.confidence"),
        ({"abs_tol": 0.1, "min_blocks": 1}, "precision.min_blocks"),
    ]:
        with pytest.raises(SimlabError) as caught:
            Precision.of(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_sequential_stops_at_the_first_prefix_that_meets_the_target() -> None:
    blocks = normal_blocks(1, 400, 1000)
    precision = Precision.of(abs_tol=0.01)
    prefix, stop = run(precision, blocks, 1000)
    assert stop.reason is StopReason.PRECISION_REACHED
    assert stop.first_block == 0
    assert precision.half_width(prefix.moments) <= 0.01
    shorter = Moments()
    for moments in blocks[: stop.end_block - 1]:
        shorter = shorter.merge(moments)
    assert precision.half_width(shorter) > 0.01, "it stopped at the first prefix that met it"
    # z * 1 / sqrt(n) = 0.01 -> n ≈ 38,415: about 39 blocks of 1,000.
    assert 30 <= stop.end_block <= 50


def test_the_pilot_comes_first_and_the_budget_bounds_the_run() -> None:
    blocks = normal_blocks(2, 20, 1000)
    _, stop = run(Precision.of(abs_tol=10.0, min_blocks=5), blocks, 1000)
    assert stop == Stop(StopReason.PRECISION_REACHED, 0, 5)
    _, stop = run(Precision.of(abs_tol=1e-6), blocks, 1000)
    assert stop == Stop(StopReason.BUDGET_EXHAUSTED, 0, 20)


def test_blocks_past_the_stop_do_not_join_and_the_stop_never_changes() -> None:
    blocks = normal_blocks(3, 100, 1000)
    precision = Precision.of(abs_tol=0.02)
    prefix, stop = run(precision, blocks, 1000)
    after, again = advance(
        precision,
        prefix,
        stop,
        prefix.blocks,
        blocks[prefix.blocks],
        blocks_total=100,
        block_size=1000,
    )
    assert (after, again) == (prefix, None)
    with pytest.raises(ValueError):
        advance(precision, Prefix(), None, 3, blocks[3], blocks_total=100, block_size=1000)


def test_two_stage_sizes_the_second_stage_from_the_pilot_alone() -> None:
    blocks = normal_blocks(4, 400, 1000)
    precision = Precision.of(abs_tol=0.01, two_stage=True)
    prefix, stop = run(precision, blocks, 1000)
    pilot = Moments()
    for moments in blocks[:10]:
        pilot = pilot.merge(moments)
    needed = math.ceil((precision.z * 1.2 * math.sqrt(pilot.variance) / 0.01) ** 2)
    assert stop == Stop(StopReason.PRECISION_REACHED, 10, 10 + math.ceil(needed / 1000))
    assert (prefix.start, prefix.moments.count) == (10, (stop.end_block - 10) * 1000)
    _, cut = run(precision, blocks[:30], 1000)
    assert cut == Stop(StopReason.BUDGET_EXHAUSTED, 10, 30)
    _, whole = run(precision, blocks[:8], 1000)
    assert whole == Stop(StopReason.BUDGET_EXHAUSTED, 0, 8)


def test_two_stage_intervals_cover_the_truth_at_the_nominal_rate() -> None:
    # 400 independent runs of N(1, 1) in blocks of 50 to ±0.05 at 90 %: the interval of the
    # second stage covers 1.0 in 90 % of runs, within 4 binomial standard errors.
    runs, confidence = 400, 0.9
    covered = 0
    for seed in range(runs):
        precision = Precision.of(abs_tol=0.05, confidence=confidence, two_stage=True)
        prefix, stop = run(precision, normal_blocks(seed, 200, 50), 50)
        assert stop.reason is StopReason.PRECISION_REACHED
        covered += abs(prefix.moments.mean - 1.0) <= precision.half_width(prefix.moments)
    sd = math.sqrt(confidence * (1 - confidence) / runs)
    assert abs(covered / runs - confidence) <= 4 * sd, covered / runs
