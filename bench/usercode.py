"""Users' own code: `simlab run` of an unchanged file to its first progress event, the time a
push takes to register (sandboxed inspection included), and a user model's samples/s in a
worker against the same function run bare over the same blocks."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.models import bare_loop, in_worker
from bench.report import Row
from simlab.client import Client
from simlab.core.stats import Histogram, Moments
from simlab.devstack.stack import Stack
from simlab.usercode.function_form import HISTOGRAM_BINS
from simlab.v1 import simulation_pb2 as pb

MODEL = '''
"""Terminal value of a geometric Brownian motion (a European call's payoff, discounted)."""
import numpy as np

BLOCK_SIZE = 200_000


def simulate(rng, n, *, spot: float = 100.0, strike: float = 105.0, rate: float = 0.05,
             volatility: float = 0.2, maturity: float = 1.0):
    z = rng.standard_normal(n)
    terminal = spot * np.exp((rate - volatility**2 / 2) * maturity
                             + volatility * np.sqrt(maturity) * z)
    return np.exp(-rate * maturity) * np.maximum(terminal - strike, 0.0)
'''


def first_progress_s(stack: Stack, path: Path) -> float:
    """Seconds from starting `simlab run FILE` to the job's first progress event."""
    started = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "simlab.cli",
            "--server",
            stack.url,
            "--token",
            stack.token,
            "--json",
            "run",
            str(path),
            "-p",
            "samples=2000000",
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"simlab run failed ({out.returncode}): {out.stderr.strip()}")
    job_id = _job_id(out.stdout)
    with Client(stack.url, token=stack.token) as client:
        for event in client.watch(job_id):
            if event.kind == pb.EVENT_KIND_PROGRESS or event.job.progress.blocks_done:
                return time.perf_counter() - started
    raise RuntimeError(f"job {job_id} ended without progress")


def _job_id(stdout: str) -> str:
    import json

    return str(json.loads(stdout)["job_id"])


def statistics_cost(simulate: object, block: int) -> tuple[float, float, float]:
    """Seconds per block (best of 20) of the user's function, and of the statistics the
    platform keeps of its primary output (moments; a histogram over a fixed range, as
    simlab.usercode.function_form does): where a user model's time goes besides its own."""
    fn = simulate
    rng = np.random.default_rng(1)
    x = np.asarray(fn(rng, block))  # type: ignore[operator]
    lo, hi = float(x.min()), float(x.max())

    def best(call: Callable[[], object]) -> float:
        return min(timeit.repeat(call, number=1, repeat=20))

    return (
        best(lambda: fn(rng, block)),  # type: ignore[operator]
        best(lambda: Moments.of(x)),
        best(lambda: Histogram.of(x, lo, hi, HISTOGRAM_BINS)),
    )


def run(stack: Stack, quick: bool = False) -> list[Row]:
    samples = 40_000_000 if quick else 100_000_000
    with (
        tempfile.TemporaryDirectory(prefix="simlab-bench-code-") as tmp,
        Client(stack.url, token=stack.token) as client,
    ):
        path = Path(tmp) / "gbm_call.py"
        path.write_text(MODEL)

        registrations = []
        for i in range(2 if quick else 5):
            path.write_text(MODEL + f"\nVARIANT = {i}\n")
            started = time.perf_counter()
            client.push_model(path)
            registrations.append(time.perf_counter() - started)
        print(
            f"registration (push of changed code, sandboxed inspection)  "
            f"median {statistics.median(registrations):.2f} s over {len(registrations)}"
        )

        firsts = [first_progress_s(stack, path) for _ in range(2 if quick else 5)]
        print(
            f"`simlab run` of an unchanged file to its first progress event  "
            f"median {statistics.median(firsts):.2f} s over {len(firsts)} (target <= 3 s)"
        )

        namespace: dict[str, object] = {}
        exec(compile(MODEL, str(path), "exec"), namespace)
        simulate = namespace["simulate"]
        # The user's function, called exactly as the worker calls it.
        reference = bare_loop(
            lambda rng, n: np.asarray(simulate(rng, n)),  # type: ignore[operator]
            samples,
            200_000,
            seed=1,
        )
        rate, _ = in_worker(client, "gbm_call", {"samples": samples}, seed=1)
        print(
            f"user model gbm_call  bare {reference:>14,.0f}/s   worker {rate:>14,.0f}/s "
            f"({rate / reference:6.1%} of bare; target >= 95 %)"
        )
        own, moments, histogram = statistics_cost(namespace["simulate"], 200_000)
        print(
            f"per 200,000-sample block: the model's function {own * 1e3:.2f} ms; the platform's "
            f"statistics of it: moments {moments * 1e3:.2f} ms, histogram {histogram * 1e3:.2f} ms"
        )
    first = statistics.median(firsts)
    return [
        Row("push of user code -> registered, median", statistics.median(registrations), "s"),
        Row("`simlab run FILE` -> first progress, median", first, "s", target="<= 3 s",
            met=first <= 3),
        Row("worker, user model gbm_call", rate, "samples/s", reference, "bare NumPy",
            ">= 95 %", rate >= 0.95 * reference),
        Row("user model: the platform's statistics per block", (moments + histogram) * 1e3, "ms",
            own * 1e3, "the model's own block"),
    ]  # fmt: skip
