"""Each model's samples/s in a real worker (one shard, through the embedded stack: progress
reports, statistics, results) against the same NumPy code run bare in one loop."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.report import Row
from simlab.client import Client
from simlab.core.blocks import block_rng, block_samples, blocks_total
from simlab.core.params import validate
from simlab.devstack.stack import Stack
from simlab.models.registry import catalogue
from simlab.v1 import simulation_pb2 as pb
from simlab_worker.adapters.memory import keep_freed_memory

# Sizes for about five seconds of work per model on one core.
SIZES: dict[str, dict[str, Any]] = {
    "european_option": {"spot": 100, "strike": 105, "paths": 100_000_000},
    "pi": {"samples": 300_000_000},
    "mm1_queue": {"arrival_rate": 0.9, "service_rate": 1.0, "customers": 100_000_000},
    "rosenbrock_multistart": {"dimensions": 4, "starts": 200},
}


def bare_loop(
    block: Callable[[np.random.Generator, int], object], total: int, size: int, seed: int
) -> float:
    """Samples/s of `block(rng, n)` called in a plain loop over a run's blocks, with the
    worker's random streams, under the allocator policy the worker runs its blocks with, so
    that a ratio to it measures the worker's overhead rather than glibc's (process-wide: the
    rest of the bench keeps it)."""
    keep_freed_memory()
    started = time.perf_counter()
    for index in range(blocks_total(total, size)):
        block(block_rng(seed, index), block_samples(index, total, size))
    return total / (time.perf_counter() - started)


def bare(model_name: str, given: dict[str, Any], seed: int) -> float:
    """Samples/s of the model's simulate() in a plain loop over the same blocks."""
    model = catalogue()[model_name]
    params = validate(model, given)
    total = int(params[model.sample_param.name])
    return bare_loop(
        lambda rng, n: model.simulate(params, rng, n), total, model.block_size(params), seed
    )


def in_worker(
    client: Client, model_name: str, given: dict[str, Any], seed: int, shards: int = 1
) -> tuple[float, float]:
    """(samples/s over the blocks, samples/s from RUNNING to SUCCEEDED) of a job: the first
    from the job's progress history (the samples done between its first and last report over
    the time between them), so start-up and the final statistics are left out of it."""
    submitted = client.submit(model_name, given, seed=seed, shards=shards, no_cache=True)
    job = client.wait(submitted.job_id, progress=False)
    if job.state != pb.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"{model_name} ended {job.state}: {job.error.message}")
    at = {h.state: h.at.ToDatetime().timestamp() for h in job.history}
    points = client.progress_history(job.job_id)
    first, last = points[0], points[-1]
    span = last.at.ToDatetime().timestamp() - first.at.ToDatetime().timestamp()
    blocks_rate = (last.samples_done - first.samples_done) / span if span > 0 else float("nan")
    total = job.progress.samples_total
    return blocks_rate, total / (at[pb.JOB_STATE_SUCCEEDED] - at[pb.JOB_STATE_RUNNING])


def sized(given: dict[str, Any], quick: bool) -> dict[str, Any]:
    """A quick run's sizes: a quarter, still several progress reports long."""
    count_params = ("paths", "samples", "customers")
    return {k: (v // 4 if quick and k in count_params else v) for k, v in given.items()}


def run(stack: Stack, quick: bool = False) -> list[Row]:
    """Bare and worker runs interleaved (three of each, one in a quick run) and the medians
    compared, so that a neighbour's load on the machine falls on both."""
    rows = []
    repeats = 1 if quick else 3
    with Client(stack.url, token=stack.token) as client:
        for name, given in SIZES.items():
            params = sized(given, quick)
            bares, workers, overalls = [], [], []
            for _ in range(repeats):
                bares.append(bare(name, params, seed=1))
                blocks_rate, overall = in_worker(client, name, params, seed=1)
                workers.append(blocks_rate)
                overalls.append(overall)
            reference, blocks_rate = statistics.median(bares), statistics.median(workers)
            overall = statistics.median(overalls)
            print(
                f"{name:<22} bare {reference:>14,.0f}/s   worker {blocks_rate:>14,.0f}/s "
                f"({blocks_rate / reference:6.1%} of bare)   "
                f"with start-up and results {overall:>14,.0f}/s ({overall / reference:6.1%})"
            )
            rows.append(
                Row(
                    f"worker {name}",
                    blocks_rate,
                    "samples/s",
                    reference,
                    "bare NumPy",
                    ">= 95 %",
                    blocks_rate >= 0.95 * reference,
                )
            )
    return rows
