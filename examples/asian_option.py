"""Geometric-average Asian call.

The payoff is max(G - K, 0) where G is the geometric mean of the price at `steps` equally
spaced monitoring dates. Its price has a closed form (Kemna & Vorst), so the estimate can be
checked: the summary's `value` should be within a few `value_stderr` of it.
"""

from typing import Annotated

import numpy as np

import simlab

# A million paths by default, in blocks of 50,000.
SAMPLES = 1_000_000
BLOCK_SIZE = 50_000


def simulate(
    rng: np.random.Generator,
    n: int,
    *,
    spot: Annotated[float, simlab.Param(gt=0, unit="$", help="Price today")] = 100.0,
    strike: Annotated[float, simlab.Param(gt=0, unit="$")] = 100.0,
    rate: Annotated[float, simlab.Param(ge=-0.1, le=1, unit="1/year")] = 0.05,
    volatility: Annotated[float, simlab.Param(gt=0, le=5, unit="1/√year")] = 0.2,
    maturity: Annotated[float, simlab.Param(gt=0, le=50, unit="years")] = 1.0,
    steps: Annotated[int, simlab.Param(ge=1, le=365, help="Monitoring dates")] = 12,
) -> np.ndarray:
    dt = maturity / steps
    increments = (rate - 0.5 * volatility**2) * dt + volatility * np.sqrt(dt) * (
        rng.standard_normal((n, steps))
    )
    log_paths = np.log(spot) + np.cumsum(increments, axis=1)
    geometric_mean = np.exp(log_paths.mean(axis=1))
    return np.exp(-rate * maturity) * np.maximum(geometric_mean - strike, 0.0)
