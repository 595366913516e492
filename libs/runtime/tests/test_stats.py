import math

import numpy as np
import pytest

from simlab.core.stats import Histogram, Minimum, Moments, Stats, merge_in_order


def test_moments_of_matches_numpy():
    x = np.random.default_rng(1).normal(3.0, 2.0, 1000)
    m = Moments.of(x)
    assert m.count == 1000
    assert m.mean == pytest.approx(x.mean(), rel=1e-12)
    assert m.variance == pytest.approx(x.var(ddof=1), rel=1e-12)
    assert m.stderr == pytest.approx(x.std(ddof=1) / math.sqrt(1000), rel=1e-12)


def test_chan_merge_equals_moments_of_the_whole():
    x = np.random.default_rng(2).exponential(1.0, 999)
    merged = Moments.of(x[:10]).merge(Moments.of(x[10:500])).merge(Moments.of(x[500:]))
    whole = Moments.of(x)
    assert merged.count == whole.count
    assert merged.mean == pytest.approx(whole.mean, rel=1e-12)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-12)


def test_empty_moments_are_the_identity_of_merge():
    m = Moments.of([1.0, 2.0, 4.0])
    assert Moments().merge(m) == m
    assert m.merge(Moments()) == m
    assert Moments.of([]) == Moments()


def test_stderr_needs_two_samples():
    assert math.isnan(Moments.of([5.0]).stderr)
    assert math.isnan(Moments().variance)


def test_minimum_keeps_the_smaller_and_the_earlier_on_ties():
    a, b, c = Minimum(2.0, (1.0,)), Minimum(1.0, (2.0,)), Minimum(1.0, (3.0,))
    assert a.merge(b) == b
    assert b.merge(c) == b
    assert Minimum().merge(a) == a


def test_histogram_counts_half_open_bins_and_outliers():
    h = Histogram.of([-1.0, 0.0, 0.5, 0.99, 1.0, 2.0, 3.0], lo=0.0, hi=2.0, bins=2)
    assert h.counts == (3, 1)  # [0, 1): 0, 0.5, 0.99; [1, 2): 1.0
    assert (h.below, h.above) == (1, 2)  # 2.0 is the upper edge, so outside
    assert list(h.edges) == [0.0, 1.0, 2.0]


def test_histograms_merge_bin_by_bin_and_refuse_other_bins():
    a = Histogram.of([0.1, 0.6], 0.0, 1.0, 2)
    b = Histogram.of([0.2, 5.0], 0.0, 1.0, 2)
    assert a.merge(b) == Histogram(0.0, 1.0, (2, 1), 0, 1)
    with pytest.raises(ValueError):
        a.merge(Histogram.of([0.1], 0.0, 1.0, 3))


def test_stats_merge_combines_every_map():
    a = Stats(2, {"x": Moments.of([1.0, 2.0])}, counts={"hits": 1})
    b = Stats(
        3,
        {"x": Moments.of([3.0, 4.0, 5.0]), "y": Moments.of([1.0])},
        {"best": Minimum(0.5, (1.0, 2.0))},
        {"hits": 2},
        {"h": Histogram.of([0.5], 0.0, 1.0, 4)},
    )
    merged = a.merge(b)
    assert merged.samples == 5
    assert merged.moments["x"].mean == pytest.approx(3.0)
    assert merged.moments["y"] == b.moments["y"]
    assert merged.counts == {"hits": 3}
    assert merged.minima == b.minima
    assert merged.histograms == b.histograms


def test_merge_in_order_is_a_left_fold():
    rng = np.random.default_rng(3)
    blocks = [Stats(10, {"x": Moments.of(rng.random(10))}) for _ in range(4)]
    expected = blocks[0].merge(blocks[1]).merge(blocks[2]).merge(blocks[3])
    assert merge_in_order(blocks) == expected
    assert merge_in_order([]) == Stats()
