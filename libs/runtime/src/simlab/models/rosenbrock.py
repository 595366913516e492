"""Multi-start minimisation of the Rosenbrock function with SciPy's Nelder-Mead: the analysts'
original script, as blocks of random starts. The global minimum is f(1, …, 1) = 0; from four
dimensions up there is also a local minimum near (-1, 1, …, 1), so not every start succeeds."""

from __future__ import annotations

from typing import Any

import numpy as np

from simlab.core.stats import Histogram, Minimum, Moments, Stats
from simlab.models.base import Model, Output, Param, Params

STARTS_PER_BLOCK = 8
# A start succeeds when it ends this close to (1, …, 1) in every coordinate.
SUCCESS_TOLERANCE = 1e-4
# Histogram of log10 of the final objective value.
LOG10_F_RANGE = (-20.0, 4.0)
LOG10_F_BINS = 48


def block_size(params: Params) -> int:
    return min(params["starts"], STARTS_PER_BLOCK)


def _nelder_mead_options(dimensions: int) -> dict[str, Any]:
    budget = 2000 * dimensions * dimensions
    # The adaptive simplex parameters (Gao & Han) help Nelder-Mead in higher dimensions.
    return {"xatol": 1e-8, "fatol": 1e-12, "maxiter": budget, "maxfev": budget, "adaptive": True}


def simulate(params: Params, rng: np.random.Generator, n: int) -> Stats:
    # Imported here: the catalogue loads every model, and scipy.optimize is slow to import.
    from scipy.optimize import minimize, rosen

    dimensions, box = params["dimensions"], params["box"]
    starts = rng.uniform(-box, box, size=(n, dimensions))
    options = _nelder_mead_options(dimensions)
    results = [minimize(rosen, x0, method="Nelder-Mead", options=options) for x0 in starts]

    final_f = np.array([r.fun for r in results])
    ends = np.array([r.x for r in results])
    succeeded = np.max(np.abs(ends - 1.0), axis=1) < SUCCESS_TOLERANCE
    best = int(np.argmin(final_f))
    log10_f = np.log10(np.maximum(final_f, np.finfo(float).tiny))
    return Stats(
        samples=n,
        moments={
            "success_rate": Moments.of(succeeded),
            "final_f": Moments.of(final_f),
            "evaluations": Moments.of([r.nfev for r in results]),
        },
        minima={"best": Minimum(float(final_f[best]), tuple(float(v) for v in ends[best]))},
        counts={"successes": int(np.count_nonzero(succeeded))},
        histograms={"log10_final_f": Histogram.of(log10_f, *LOG10_F_RANGE, LOG10_F_BINS)},
    )


def summarize(params: Params, stats: Stats) -> dict[str, Any]:
    success_rate = stats.moments["success_rate"]
    best = stats.minima["best"]
    return {
        "best_x": list(best.argmin),
        "best_f": best.value,
        "successes": stats.counts["successes"],
        "starts": stats.samples,
        "success_rate": success_rate.mean,
        "stderr": success_rate.stderr,
        "mean_evaluations": stats.moments["evaluations"].mean,
    }


def data(params: Params, stats: Stats) -> dict[str, np.ndarray]:
    histogram = stats.histograms["log10_final_f"]
    edges = histogram.edges
    return {
        "log10_final_f_lo": edges[:-1],
        "log10_final_f_hi": edges[1:],
        "starts": np.array(histogram.counts, dtype=np.int64),
    }


MODEL = Model(
    name="rosenbrock_multistart",
    title="Rosenbrock multi-start (Nelder-Mead)",
    description=(
        "Minimises the Rosenbrock function from uniformly random starting points with SciPy's "
        "Nelder-Mead, and reports the best point found and how often a start reaches the "
        "global minimum at (1, …, 1)."
    ),
    parameters=(
        Param(
            "dimensions",
            "Dimensions",
            "int",
            default=4,
            minimum=2,
            maximum=10,
            help="Number of variables of the Rosenbrock function.",
        ),
        Param(
            "box",
            "Start box half-width",
            "float",
            default=2.0,
            minimum=0,
            exclusive_minimum=True,
            maximum=100.0,
            help="Starting points are uniform in [-box, box] in every coordinate.",
        ),
        Param(
            "starts",
            "Starts",
            "int",
            default=200,
            minimum=1,
            maximum=100_000,
            unit="starts",
            help=f"Random starting points, each a full Nelder-Mead run, in blocks of "
            f"{STARTS_PER_BLOCK}.",
            sample_count=True,
        ),
    ),
    outputs=(
        Output("best_x", "Best point", "", "Argmin of the best start."),
        Output("best_f", "Best value", "", "Smallest objective value found."),
        Output("successes", "Successes", "starts", "Starts that reached (1, …, 1)."),
        Output("starts", "Starts", "starts", "Starts run."),
        Output("success_rate", "Success rate", "", "Share of starts that reached (1, …, 1)."),
        Output("stderr", "Standard error", "", "Standard error of the success rate."),
        Output("mean_evaluations", "Function evaluations", "per start", "Mean cost of a start."),
        Output(
            "log10_final_f",
            "log₁₀ final value",
            "",
            "Distribution of log₁₀ f at the end of each start (histogram).",
        ),
    ),
    primary_output="success_rate",
    block_size=block_size,
    simulate=simulate,
    summarize=summarize,
    data=data,
)
