"""What precision targets, the result cache and top-ups save, through the embedded stack:
- each shipped model at a typical target against its fixed budget: samples drawn, blocks
  computed past the stop (discarded), wall time of both runs;
- a cache hit: submit to SUCCEEDED, no worker;
- a top-up of a finished run against a fresh run of the same size: wall time and blocks
  computed.

`python -m bench.precision [--quick]` runs it alone against its own stack."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Row
from simlab.client import Client
from simlab.devstack.stack import Stack, free_port
from simlab.v1 import simulation_pb2 as pb

OPTION = {"spot": 100, "strike": 105, "volatility": 0.2, "maturity": 1, "rate": 0.05}
# (model, parameters with the budget, target): typical asks of an analyst.
TARGETS: list[tuple[str, dict[str, Any], dict[str, float]]] = [
    ("european_option", {**OPTION, "paths": 50_000_000}, {"rel_tol": 1e-3}),
    ("pi", {"samples": 500_000_000}, {"rel_tol": 2e-4}),
    (
        "mm1_queue",
        {"arrival_rate": 0.9, "service_rate": 1.0, "customers": 50_000_000},
        {"rel_tol": 1e-2},
    ),
]


def timed_run(
    client: Client, model: str, params: dict[str, Any], **kwargs: Any
) -> tuple[pb.Job, float]:
    started = time.perf_counter()
    job = client.wait(client.submit(model, params, **kwargs).job_id, progress=False)
    if job.state != pb.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"{model} ended {pb.JobState.Name(job.state)}: {job.error.message}")
    return job, time.perf_counter() - started


def shrink(params: dict[str, Any], quick: bool) -> dict[str, Any]:
    if not quick:
        return params
    return {k: v // 10 if k in ("paths", "samples", "customers") else v for k, v in params.items()}


def targets(client: Client, quick: bool) -> list[Row]:
    rows = []
    print(
        f"{'model':<16} {'target':<14} {'budget':>13} {'drawn':>13} {'saved':>7} "
        f"{'discarded':>9} {'time to target':>14} {'whole budget':>12}"
    )
    for seed, (model, params, target) in enumerate(TARGETS, start=1):
        params = shrink(params, quick)
        stopped, stopped_s = timed_run(client, model, params, seed=seed, shards=2, **target)
        _, budget_s = timed_run(client, model, params, seed=seed, shards=2)
        budget = stopped.progress.samples_total
        drawn = stopped.stop.samples_used
        ((kind, value),) = target.items()
        print(
            f"{model:<16} {kind} {value:<7g} {budget:>13,} {drawn:>13,} "
            f"{1 - drawn / budget:>7.1%} {stopped.stop.blocks_discarded:>9} "
            f"{stopped_s:>13.1f}s {budget_s:>11.1f}s"
        )
        rows.append(
            Row(
                f"{model} to {kind} {value:g}: samples drawn",
                drawn,
                "samples",
                budget,
                "the whole budget",
            )
        )
    return rows


def cache(client: Client, quick: bool) -> list[Row]:
    params = {**OPTION, "paths": 1_000_000}
    source, _ = timed_run(client, "european_option", params, seed=99, abs_tol=0.05)
    latencies = []
    for _ in range(5 if quick else 30):
        started = time.perf_counter()
        hit = client.submit("european_option", params, seed=99, abs_tol=0.05)
        latencies.append(time.perf_counter() - started)
        if hit.cached_from != source.job_id or hit.state != pb.JOB_STATE_SUCCEEDED:
            raise RuntimeError(f"expected a cache hit of {source.job_id}, got {hit}")
    print(
        "cache hit (submit -> SUCCEEDED, no worker): median"
        f" {statistics.median(latencies) * 1e3:.1f} ms,"
        f" max {max(latencies) * 1e3:.1f} ms over {len(latencies)}"
    )
    return [Row("cache hit: submit -> SUCCEEDED, median", statistics.median(latencies) * 1e3, "ms")]


def top_up(client: Client, quick: bool) -> list[Row]:
    small, large = (2_000_000, 4_000_000) if quick else (20_000_000, 40_000_000)
    first, first_s = timed_run(client, "european_option", {**OPTION, "paths": small}, seed=7)
    started = time.perf_counter()
    extended = client.wait(client.extend(first.job_id, samples=large).job_id, progress=False)
    extend_s = time.perf_counter() - started
    _, fresh_s = timed_run(
        client, "european_option", {**OPTION, "paths": large}, seed=7, no_cache=True
    )
    if extended.state != pb.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"the top-up ended {extended.state}: {extended.error.message}")
    print(
        f"top-up {small:,} -> {large:,} paths: {extend_s:.1f} s (the first run took "
        f"{first_s:.1f} s) vs a fresh run of {large:,}: {fresh_s:.1f} s "
        f"({extend_s / fresh_s:.0%}); {extended.history[0].reason}"
    )
    return [Row(f"top-up {small:,} -> {large:,} paths", extend_s, "s", fresh_s,
                f"a fresh run of {large:,}")]  # fmt: skip


def run(stack: Stack, quick: bool = False) -> list[Row]:
    with Client(stack.url, token=stack.token) as client:
        return targets(client, quick) + cache(client, quick) + top_up(client, quick)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.precision", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="budgets a tenth as large")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="simlab-bench-") as tmp:
        stack = Stack(Path(tmp) / "state", free_port(), log_dir=Path(tmp) / "logs")
        stack.start()
        try:
            run(stack, quick=args.quick)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
