"""Each model against its closed form or known answer. The checks are statistical with fixed
seeds: an estimate within 4 standard errors of the truth."""

import math

import numpy as np
import pytest

from simlab.core.blocks import block_rng, block_samples, blocks_total
from simlab.core.params import validate
from simlab.core.stats import Stats, merge_in_order
from simlab.models import european_option, mm1_queue, pi, rosenbrock
from simlab.models.base import Model
from simlab.models.registry import catalogue, check

MODELS = [european_option.MODEL, pi.MODEL, rosenbrock.MODEL, mm1_queue.MODEL]


def run(model: Model, given: dict, seed: int = 7) -> tuple[dict, Stats]:
    """A whole run in one process, as the worker does it: block by block, merged in order."""
    params = validate(model, given)
    size, total = model.block_size(params), params[model.sample_param.name]
    blocks = [
        model.simulate(params, block_rng(seed, b), block_samples(b, total, size))
        for b in range(blocks_total(total, size))
    ]
    stats = merge_in_order(blocks)
    return model.summarize(params, stats), stats


def test_the_catalogue_has_the_shipped_models():
    assert {m.name for m in MODELS} <= set(catalogue())
    for model in MODELS:
        assert catalogue()[model.name] is model


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_schemas_are_complete(model):
    check(model)  # one int sample count, primary output among the outputs
    for param in model.parameters:
        assert param.label and param.help, param.name
    assert model.reference is None or model.reference in {o.name for o in model.outputs}


@pytest.mark.parametrize("option_type", ["call", "put"])
def test_european_option_matches_black_scholes(option_type):
    given = {
        "spot": 100.0,
        "strike": 105.0,
        "rate": 0.05,
        "volatility": 0.2,
        "maturity": 1.0,
        "option_type": option_type,
        "paths": 400_000,
    }
    summary, stats = run(european_option.MODEL, given)
    assert summary["stderr"] > 0
    assert abs(summary["price"] - summary["bs_price"]) < 4 * summary["stderr"]
    # The in-the-money share is a binomial proportion.
    p = summary["bs_itm_probability"]
    assert abs(summary["itm_probability"] - p) < 4 * math.sqrt(p * (1 - p) / 400_000)
    histogram = stats.histograms["terminal_price"]
    assert sum(histogram.counts) + histogram.below + histogram.above == 400_000


def test_black_scholes_satisfies_put_call_parity():
    base = {"spot": 90.0, "strike": 100.0, "rate": 0.03, "volatility": 0.35, "maturity": 2.0}
    call, _ = european_option.black_scholes({**base, "option_type": "call"})
    put, _ = european_option.black_scholes({**base, "option_type": "put"})
    assert call - put == pytest.approx(90.0 - 100.0 * math.exp(-0.03 * 2.0), rel=1e-12)


def test_pi_estimate_is_within_four_standard_errors():
    summary, stats = run(pi.MODEL, {"samples": 2_000_000})
    assert abs(summary["estimate"] - math.pi) < 4 * summary["stderr"]
    # The Bernoulli shortcut gives the moments the samples themselves would give.
    inside = stats.counts["inside"]
    samples = np.r_[np.full(inside, 4.0), np.zeros(stats.samples - inside)]
    assert summary["stderr"] == pytest.approx(samples.std(ddof=1) / math.sqrt(samples.size))


def test_rosenbrock_finds_the_global_minimum():
    summary, _ = run(rosenbrock.MODEL, {"dimensions": 3, "starts": 16})
    assert summary["best_f"] < 1e-6
    assert np.allclose(summary["best_x"], np.ones(3), atol=1e-3)
    assert 1 <= summary["successes"] <= 16
    assert summary["success_rate"] == summary["successes"] / 16


def test_mm1_waits_follow_lindleys_recursion():
    params = validate(mm1_queue.MODEL, {"arrival_rate": 0.8, "service_rate": 1.0})
    waits = mm1_queue._waits(params, block_rng(3, 0), 2000)
    # The same draws, the recursion written out.
    rng = block_rng(3, 0)
    interarrival, service = rng.exponential(1 / 0.8, 2000), rng.exponential(1.0, 2000)
    expected = np.zeros(2000)
    for k in range(1, 2000):
        expected[k] = max(0.0, expected[k - 1] + service[k - 1] - interarrival[k])
    np.testing.assert_allclose(waits, expected, atol=1e-9)


def test_mm1_mean_wait_matches_the_analytic_value():
    given = {"arrival_rate": 0.5, "service_rate": 1.0, "customers": 400_000}
    summary, _ = run(mm1_queue.MODEL, given)
    assert summary["replications"] == 10
    assert summary["analytic_mean_wait"] == pytest.approx(1.0)
    assert abs(summary["mean_wait"] - summary["analytic_mean_wait"]) < 4 * summary["stderr"]
    assert summary["wait_probability"] == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("customers", [1_000, 999_999, 1_000_001, 123_456_789])
def test_mm1_replications_are_equal_sized(customers):
    params = validate(mm1_queue.MODEL, {"customers": customers})
    size = mm1_queue.block_size(params)
    n = blocks_total(customers, size)
    assert n >= mm1_queue.MIN_REPLICATIONS
    assert size - block_samples(n - 1, customers, size) < n


SMALL = {
    "european_option": {"spot": 100.0, "strike": 100.0, "paths": 1000},
    "pi": {"samples": 1000},
    "rosenbrock_multistart": {"dimensions": 2, "starts": 3},
    "mm1_queue": {"customers": 2000},
}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_data_columns_have_equal_lengths(model):
    params = validate(model, SMALL[model.name])
    summary, stats = run(model, SMALL[model.name])
    assert model.primary_output in stats.moments
    assert summary[model.primary_output] == stats.moments[model.primary_output].mean
    columns = model.data(params, stats)
    assert columns
    assert len({np.asarray(c).shape for c in columns.values()}) == 1
