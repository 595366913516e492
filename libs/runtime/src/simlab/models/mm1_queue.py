"""The M/M/1 queue: Poisson arrivals, exponential service times, one server, first come first
served. Its mean wait in queue has the closed form λ / (μ (μ - λ)).

Each block is an independent replication that starts with an empty queue and discards a
warm-up share of its customers. Each replication contributes one sample, its mean wait, so the
standard error comes from independent replications rather than from correlated waits."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simlab.common.errors import invalid
from simlab.core.stats import Histogram, Moments, Stats
from simlab.models.base import Model, Output, Param, Params

CUSTOMERS_PER_REPLICATION = 100_000
# Fewer replications than this would leave the standard error poorly estimated.
MIN_REPLICATIONS = 10
WAIT_BINS = 60
# The wait histogram ends where P(W > t) falls to this.
WAIT_TAIL = 1e-4


def block_size(params: Params) -> int:
    # Equal-sized replications: the last block is at most one customer per block shorter.
    customers = params["customers"]
    replications = max(MIN_REPLICATIONS, math.ceil(customers / CUSTOMERS_PER_REPLICATION))
    return math.ceil(customers / replications)


def check(params: Params) -> None:
    if params["arrival_rate"] >= params["service_rate"]:
        raise invalid(
            "parameters.arrival_rate",
            f"must be below service_rate ({params['service_rate']}) for a stable queue "
            f"(got {params['arrival_rate']})",
        )


def _waits(params: Params, rng: np.random.Generator, n: int) -> np.ndarray:
    """Waiting times in queue of n customers arriving at an empty queue, by Lindley's
    recursion W₍k+1₎ = max(0, W_k + S_k - A₍k+1₎), vectorised: with X the cumulative sum of
    S_k - A₍k+1₎ (X₀ = 0), W_k = X_k - min₍j≤k₎ X_j."""
    interarrival = rng.exponential(1.0 / params["arrival_rate"], n)
    service = rng.exponential(1.0 / params["service_rate"], n)
    walk = np.empty(n)
    walk[0] = 0.0
    np.cumsum(service[:-1] - interarrival[1:], out=walk[1:])
    return walk - np.minimum.accumulate(walk)


def _wait_range(params: Params) -> tuple[float, float]:
    # For a waiting customer, W is exponential with rate μ - λ; P(W > t) = (λ/μ) e^{-(μ-λ) t}.
    lam, mu = params["arrival_rate"], params["service_rate"]
    return 0.0, math.log(lam / mu / WAIT_TAIL) / (mu - lam)


def simulate(params: Params, rng: np.random.Generator, n: int) -> Stats:
    waits = _waits(params, rng, n)[int(params["warmup"] * n) :]
    waiting = waits[waits > 0.0]
    return Stats(
        samples=n,
        moments={
            "mean_wait": Moments.of([waits.mean()] if waits.size else []),
            "wait": Moments.of(waits),
        },
        counts={"measured": int(waits.size), "waited": int(waiting.size)},
        histograms={"wait": Histogram.of(waiting, *_wait_range(params), WAIT_BINS)},
    )


def analytic_mean_wait(params: Params) -> float:
    lam, mu = params["arrival_rate"], params["service_rate"]
    return lam / (mu * (mu - lam))


def summarize(params: Params, stats: Stats) -> dict[str, Any]:
    mean_wait = stats.moments["mean_wait"]
    measured = stats.counts["measured"]
    return {
        "mean_wait": mean_wait.mean,
        "stderr": mean_wait.stderr,
        "analytic_mean_wait": analytic_mean_wait(params),
        "utilisation": params["arrival_rate"] / params["service_rate"],
        "wait_probability": stats.counts["waited"] / measured if measured else math.nan,
        "wait_std": math.sqrt(stats.moments["wait"].variance),
        "replications": mean_wait.count,
        "customers": stats.samples,
        "customers_measured": measured,
    }


def data(params: Params, stats: Stats) -> dict[str, np.ndarray]:
    histogram = stats.histograms["wait"]
    edges = histogram.edges
    lam, mu = params["arrival_rate"], params["service_rate"]
    # Customers expected in each bin: P(a < W ≤ b) = (λ/μ) (e^{-(μ-λ)a} - e^{-(μ-λ)b}).
    tail = (lam / mu) * np.exp(-(mu - lam) * edges)
    return {
        "wait_lo": edges[:-1],
        "wait_hi": edges[1:],
        "customers": np.array(histogram.counts, dtype=np.int64),
        "expected_customers": stats.counts["measured"] * (tail[:-1] - tail[1:]),
    }


_RATE = "per time unit"
_TIME = "time units"

MODEL = Model(
    name="mm1_queue",
    title="M/M/1 queue",
    description=(
        "Simulates a single-server queue with Poisson arrivals and exponential service times, "
        "and compares the mean waiting time in queue with the closed form λ / (μ (μ - λ))."
    ),
    parameters=(
        Param(
            "arrival_rate",
            "Arrival rate λ",
            "float",
            default=0.9,
            minimum=0,
            exclusive_minimum=True,
            maximum=1e6,
            unit=_RATE,
            help="Mean number of arrivals per unit of time; must be below the service rate.",
        ),
        Param(
            "service_rate",
            "Service rate μ",
            "float",
            default=1.0,
            minimum=0,
            exclusive_minimum=True,
            maximum=1e6,
            unit=_RATE,
            help="Mean number of customers the server completes per unit of time.",
        ),
        Param(
            "warmup",
            "Warm-up share",
            "float",
            default=0.1,
            minimum=0,
            maximum=0.9,
            help="Share of each replication's customers discarded before measuring, so that "
            "the empty start does not bias the mean wait.",
        ),
        Param(
            "customers",
            "Customers",
            "int",
            default=10_000_000,
            minimum=1_000,
            maximum=10_000_000_000,
            unit="customers",
            help=f"Customers simulated in all, split into at least {MIN_REPLICATIONS} "
            f"independent replications of up to {CUSTOMERS_PER_REPLICATION:,} customers. "
            "Near full utilisation, short replications underestimate the wait.",
            sample_count=True,
        ),
    ),
    outputs=(
        Output("mean_wait", "Mean wait in queue", _TIME, "Mean of the replications' mean waits."),
        Output("stderr", "Standard error", _TIME, "Across independent replications."),
        Output("analytic_mean_wait", "Analytic mean wait", _TIME, "λ / (μ (μ - λ))."),
        Output("utilisation", "Utilisation", "", "λ / μ."),
        Output("wait_probability", "Probability of waiting", "", "Analytically λ / μ."),
        Output("wait_std", "Standard deviation of the wait", _TIME, "Over measured customers."),
        Output("replications", "Replications", "", "Independent replications run."),
        Output("customers", "Customers", "customers", "Customers simulated."),
        Output("customers_measured", "Customers measured", "customers", "After warm-up."),
        Output("wait", "Wait in queue, when positive", _TIME, "Distribution of positive waits."),
    ),
    primary_output="mean_wait",
    reference="analytic_mean_wait",
    block_size=block_size,
    simulate=simulate,
    summarize=summarize,
    data=data,
    check=check,
)
