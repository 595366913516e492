"""Scale-out: one european_option job split into K shards on a machine with at least K cores,
against K times the same job's one-shard rate measured in the same run (the ideal). K runs
over 1, 2, 4, ... up to the cores the machine has (16 at most); the runner's worker cap must
allow K shards at once (its local default is the core count)."""

from __future__ import annotations

import os

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
    per_shard = PATHS_PER_SHARD // (4 if quick else 1)
    rows = []
    with Client(stack.url, token=stack.token) as client:
        one_shard = 0.0
        for k in shard_counts(os.cpu_count() or 1):
            params = {"spot": 100, "strike": 105, "paths": per_shard * k}
            rate, _ = in_worker(client, MODEL, params, seed=1, shards=k)
            print(f"{MODEL} {k:>2} shard(s): {rate:>14,.0f} samples/s", flush=True)
            if k == 1:
                one_shard = rate
                continue
            rows.append(
                Row(
                    f"scale-out: {MODEL}, {k} shards on {k} cores",
                    rate,
                    "samples/s",
                    k * one_shard,
                    f"{k} x one shard",
                    ">= 90 %",
                    rate >= 0.9 * k * one_shard,
                )
            )
    return rows
