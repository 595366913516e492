"""`make bench`: every benchmark in turn against one embedded stack, then one table (each path,
its number, the ceiling measured in the same run, the ratio and the target) and the same rows
in a JSON file. `make bench-quick` is the same with small sizes, a smoke run of a minute or
two that `make test` runs so that the benchmarks never rot; its numbers are reported, not
asserted. `--only submit,watchers` runs some sections (`--help` lists them); `--profile DIR`
records where their time goes (bench.profile)."""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import (
    events,
    ghz,
    models,
    objectstore,
    precision,
    profile,
    scaleout,
    study,
    submit,
    usercode,
    watchers,
)
from bench.report import Row, print_table, write_json
from simlab.devstack.stack import Stack, free_port

Section = Callable[[Stack, argparse.Namespace], list[Row]]

# name -> (heading, benchmark); in the order they run.
SECTIONS: dict[str, tuple[str, Section]] = {
    "models": (
        "worker (one shard, through the stack) vs the same NumPy code bare",
        lambda stack, args: models.run(stack, quick=args.quick),
    ),
    "scaleout": (
        "K shards of one job on K cores vs K x one shard",
        lambda stack, args: scaleout.run(stack, quick=args.quick),
    ),
    "precision": (
        "precision targets, the result cache and top-ups",
        lambda stack, args: precision.run(stack, quick=args.quick),
    ),
    "usercode": (
        "users' own code",
        lambda stack, args: usercode.run(stack, quick=args.quick),
    ),
    "study": (
        "studies: submit, read and cancel 1,000s of points; tiny points completed",
        lambda stack, args: study.run(stack, quick=args.quick),
    ),
    "events": (
        "state change in the job store -> WatchJob",
        lambda stack, args: events.run(stack, args.events),
    ),
    "watchers": (
        "watchers of one job, 10 changes, 1 vs 50 connections",
        lambda stack, args: watchers.run(stack, args.watchers, changes=10),
    ),
    # Last with the stack: they leave the runner stopped (the jobs they queue are not for
    # running).
    "submit": (
        "unary calls through the gateway, concurrent clients",
        lambda stack, args: submit.run(stack, args.submits, args.clients),
    ),
    "ghz": (
        "the same unary paths from a compiled load generator (ghz)",
        lambda stack, args: ghz.run(stack, args.submits, args.clients),
    ),
    # No stack: S3 on a MinIO of its own.
    "objectstore": (
        "object store: S3 on a local MinIO",
        lambda stack, args: objectstore.run(64 if args.quick else 1024, 16),
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--submits", type=int, default=4000, help="calls per unary path")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--events", type=int, default=200, help="state changes timed")
    parser.add_argument("--watchers", type=int, default=1000, help="WatchJob streams on one job")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated, of: {', '.join(SECTIONS)}"
    )
    parser.add_argument("--json", type=Path, help="where the rows go (default test-output/)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy flame graphs of every service and CPU per call by process, into DIR",
    )
    args = parser.parse_args()
    if args.quick:
        args.submits, args.clients, args.events, args.watchers = 300, 8, 30, 100
    chosen = args.only.split(",")
    if unknown := set(chosen) - set(SECTIONS):
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}")
    json_path = args.json or Path("test-output") / (
        "bench-quick.json" if args.quick else "bench.json"
    )

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="simlab-bench-") as tmp:
        stack = Stack(
            Path(tmp) / "state",
            free_port(),
            log_dir=Path(tmp) / "logs",
            # The submit paths queue thousands of jobs: the quota is not what they measure.
            extra_env={"SIMLAB_JOBSTORE_MAX_ACTIVE_JOBS_PER_USER": "1000000"},
        )
        # A loaded machine starts Python services slowly.
        stack.start(timeout=300)
        try:
            with (
                profile.profiling(stack, args.profile) if args.profile else contextlib.nullcontext()
            ) as profiler:
                for name in (n for n in SECTIONS if n in chosen):
                    heading, section = SECTIONS[name]
                    print(f"\n== {heading}", flush=True)
                    with profile.phase(name):
                        rows += section(stack, args)
                if profiler is not None:
                    print(f"\n{profiler.table()}written to {profiler.write()}")
        finally:
            stack.stop()
    print()
    print_table(
        rows, "make bench" + (" --quick (small sizes: smoke, not figures)" if args.quick else "")
    )
    write_json(rows, json_path, quick=args.quick)
    print(f"rows written to {json_path}")


if __name__ == "__main__":
    main()
