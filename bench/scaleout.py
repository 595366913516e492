"""Scale-out: one european_option job split into K shards on a machine with at least K cores,
against K times the same job's one-shard rate measured in the same run (the ideal). K runs
over 1, 2, 4, ... up to the cores the machine has (16 at most); the runner's worker cap must
allow K shards at once (its local default is the core count)."""

from __future__ import annotations

import os
import statistics

from bench.models import in_worker
from bench.report import Row
from simlab.client import Client
from simlab.devstack.stack import Stack

MODEL = "european_option"
PATHS_PER_SHARD = 100_000_000  # about three seconds of one core


def shard_counts(cores: int) -> list[int]:
    counts, k = [], 1
    while k <= min(cores, 16):
        counts.append(k)
        k *= 2
    return counts


def run(stack: Stack, quick: bool = False) -> list[Row]:
    """For each K, one-shard and K-shard runs interleaved (three of each, one in a quick run),
    medians compared."""
    per_shard = PATHS_PER_SHARD // (4 if quick else 1)
    repeats = 1 if quick else 3
    rows = []
    with Client(stack.url, token=stack.token) as client:

        def rate(shards: int) -> float:
            params = {"spot": 100, "strike": 105, "paths": per_shard * shards}
            return in_worker(client, MODEL, params, seed=1, shards=shards)[0]

        for k in shard_counts(os.cpu_count() or 1)[1:]:
            ones, many = [], []
            for _ in range(repeats):
                ones.append(rate(1))
                many.append(rate(k))
            one_shard, k_shards = statistics.median(ones), statistics.median(many)
            print(
                f"{MODEL}: 1 shard {one_shard:,.0f} samples/s, {k} shards {k_shards:,.0f} "
                f"samples/s = {k_shards / one_shard:.2f} x",
                flush=True,
            )
            rows.append(
                Row(
                    f"scale-out: {MODEL}, {k} shards on {k} cores",
                    k_shards,
                    "samples/s",
                    k * one_shard,
                    f"{k} x one shard",
                    ">= 90 %",
                    k_shards >= 0.9 * k * one_shard,
                )
            )
    return rows
