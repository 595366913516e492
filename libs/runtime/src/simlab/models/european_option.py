"""A European call or put under Black-Scholes dynamics, priced by Monte Carlo and checked
against the closed form.

The terminal price is drawn exactly, S_T = S_0 exp((r - sigma^2/2) T + sigma sqrt(T) Z), so
the estimator is unbiased and its only error is sampling error."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simlab.core.stats import Histogram, Moments, Stats
from simlab.models.base import Model, Output, Param, Params

PATHS_PER_BLOCK = 100_000
HISTOGRAM_BINS = 80
# The terminal-price histogram spans ± this many standard deviations of log S_T.
HISTOGRAM_SIGMAS = 5.0


def _log_drift_and_spread(params: Params) -> tuple[float, float]:
    """Mean and standard deviation of log(S_T / S_0)."""
    sigma, maturity = params["volatility"], params["maturity"]
    return (params["rate"] - 0.5 * sigma * sigma) * maturity, sigma * math.sqrt(maturity)


def _terminal_price_range(params: Params) -> tuple[float, float]:
    drift, spread = _log_drift_and_spread(params)
    spot = params["spot"]
    return (
        spot * math.exp(drift - HISTOGRAM_SIGMAS * spread),
        spot * math.exp(drift + HISTOGRAM_SIGMAS * spread),
    )


def block_size(params: Params) -> int:
    return min(params["paths"], PATHS_PER_BLOCK)


def simulate(params: Params, rng: np.random.Generator, n: int) -> Stats:
    drift, spread = _log_drift_and_spread(params)
    terminal = rng.standard_normal(n)
    terminal *= spread
    terminal += drift
    np.exp(terminal, out=terminal)
    terminal *= params["spot"]

    strike = params["strike"]
    payoff = terminal - strike if params["option_type"] == "call" else strike - terminal
    np.maximum(payoff, 0.0, out=payoff)
    payoff *= math.exp(-params["rate"] * params["maturity"])

    lo, hi = _terminal_price_range(params)
    return Stats(
        samples=n,
        moments={"price": Moments.of(payoff)},
        counts={"in_the_money": int(np.count_nonzero(payoff))},
        histograms={"terminal_price": Histogram.of(terminal, lo, hi, HISTOGRAM_BINS)},
    )


def black_scholes(params: Params) -> tuple[float, float]:
    """The closed-form price and the risk-neutral probability of ending in the money."""
    # Imported here: the catalogue loads every model, and scipy.stats is slow to import.
    from scipy.stats import norm

    spot, strike, rate = params["spot"], params["strike"], params["rate"]
    maturity = params["maturity"]
    _, spread = _log_drift_and_spread(params)
    d1 = (math.log(spot / strike) + (rate + 0.5 * params["volatility"] ** 2) * maturity) / spread
    d2 = d1 - spread
    discount = math.exp(-rate * maturity)
    if params["option_type"] == "call":
        return float(spot * norm.cdf(d1) - strike * discount * norm.cdf(d2)), float(norm.cdf(d2))
    return float(strike * discount * norm.cdf(-d2) - spot * norm.cdf(-d1)), float(norm.cdf(-d2))


def summarize(params: Params, stats: Stats) -> dict[str, Any]:
    price = stats.moments["price"]
    bs_price, bs_itm = black_scholes(params)
    return {
        "price": price.mean,
        "stderr": price.stderr,
        "bs_price": bs_price,
        "abs_error": abs(price.mean - bs_price),
        "z_score": (price.mean - bs_price) / price.stderr if price.stderr > 0 else math.nan,
        "itm_probability": stats.counts["in_the_money"] / stats.samples,
        "bs_itm_probability": bs_itm,
        "paths": stats.samples,
    }


def data(params: Params, stats: Stats) -> dict[str, np.ndarray]:
    histogram = stats.histograms["terminal_price"]
    edges = histogram.edges
    return {
        "terminal_price_lo": edges[:-1],
        "terminal_price_hi": edges[1:],
        "paths": np.array(histogram.counts, dtype=np.int64),
    }


_PRICE = "currency"

MODEL = Model(
    name="european_option",
    title="European option (Black-Scholes)",
    description=(
        "Prices a European call or put by simulating the underlying's price at maturity under "
        "geometric Brownian motion, and compares the estimate with the Black-Scholes formula."
    ),
    parameters=(
        Param(
            "spot",
            "Spot price",
            "float",
            minimum=0,
            exclusive_minimum=True,
            unit=_PRICE,
            help="Price of the underlying today (S₀).",
        ),
        Param(
            "strike",
            "Strike price",
            "float",
            minimum=0,
            exclusive_minimum=True,
            unit=_PRICE,
            help="Price at which the option may be exercised at maturity (K).",
        ),
        Param(
            "rate",
            "Risk-free rate",
            "float",
            default=0.05,
            minimum=-0.5,
            maximum=1.0,
            unit="1/year",
            help="Continuously compounded risk-free interest rate (r), e.g. 0.05 for 5 %.",
        ),
        Param(
            "volatility",
            "Volatility",
            "float",
            default=0.2,
            minimum=0,
            exclusive_minimum=True,
            maximum=5.0,
            unit="1/√year",
            help="Annualised volatility of the underlying (sigma), e.g. 0.2 for 20 %.",
        ),
        Param(
            "maturity",
            "Maturity",
            "float",
            default=1.0,
            minimum=0,
            exclusive_minimum=True,
            maximum=100.0,
            unit="years",
            help="Time to expiry (T).",
        ),
        Param(
            "option_type",
            "Option type",
            "choice",
            default="call",
            choices=("call", "put"),
            help="A call pays max(S_T - K, 0) at maturity; a put pays max(K - S_T, 0).",
        ),
        Param(
            "paths",
            "Paths",
            "int",
            default=1_000_000,
            minimum=1,
            maximum=10_000_000_000,
            unit="paths",
            help=f"Simulated price paths, in blocks of {PATHS_PER_BLOCK:,}. "
            "The standard error shrinks as 1/√paths.",
            sample_count=True,
        ),
    ),
    outputs=(
        Output("price", "Option price", _PRICE, "Monte Carlo estimate of the discounted payoff."),
        Output("stderr", "Standard error", _PRICE, "Standard error of the price estimate."),
        Output("bs_price", "Black-Scholes price", _PRICE, "Closed-form price."),
        Output("abs_error", "Absolute error", _PRICE, "|price - Black-Scholes price|."),
        Output("z_score", "z-score", "", "(price - Black-Scholes price) / standard error."),
        Output("itm_probability", "In-the-money probability", "", "Share of paths that pay."),
        Output("bs_itm_probability", "In-the-money probability (closed form)", "", "N(±d₂)."),
        Output("paths", "Paths", "paths", "Paths simulated."),
        Output(
            "terminal_price",
            "Price at maturity",
            _PRICE,
            "Distribution of the simulated underlying price at maturity (histogram).",
        ),
    ),
    primary_output="price",
    reference="bs_price",
    block_size=block_size,
    simulate=simulate,
    summarize=summarize,
    data=data,
)
