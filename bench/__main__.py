"""`make bench`: every benchmark in turn, against one embedded stack."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench import events, models, objectstore, precision, study, submit, usercode, watchers
from simlab.devstack.stack import Stack, free_port


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--submits", type=int, default=4000, help="submissions in the run")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--events", type=int, default=200, help="state changes timed")
    parser.add_argument("--watchers", type=int, default=1000, help="WatchJob streams on one job")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.submits, args.clients, args.events, args.watchers = 300, 8, 30, 100

    with tempfile.TemporaryDirectory(prefix="simlab-bench-") as tmp:
        stack = Stack(Path(tmp) / "state", free_port(), log_dir=Path(tmp) / "logs")
        stack.start()
        try:
            print("== worker (one shard, through the stack) vs the same NumPy code bare")
            models.run(stack, quick=args.quick)
            print("\n== precision targets, the result cache and top-ups")
            precision.run(stack, quick=args.quick)
            print("\n== users' own code")
            usercode.run(stack, quick=args.quick)
            print("\n== studies: submit, read and cancel 1,000s of points; tiny points completed")
            study.run(stack, quick=args.quick)
            print(f"\n== submit through the gateway ({args.clients} concurrent clients)")
            submit.run(stack, args.submits, args.clients)
            print("\n== state change in the job store -> WatchJob")
            events.run(stack, args.events)
            print(f"\n== {args.watchers} watchers of one job, 10 changes, 1 vs 50 connections")
            watchers.run(stack, args.watchers, changes=10)
        finally:
            stack.stop()
    print("\n== object store: S3 on a local MinIO")
    objectstore.run(64 if args.quick else 1024, 16)


if __name__ == "__main__":
    main()
