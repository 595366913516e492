"""The command line of tools/k8s/cluster.py: build, up, down [--purge], status, env."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __doc__ as package_doc
from .build import build
from .constants import PROCESSES, ROOT
from .down import down
from .host import ClusterError
from .state import Cluster
from .up import up


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(package_doc or "").split("\n\n")[0])
    ap.add_argument("command", choices=["build", "up", "down", "status", "env"])
    ap.add_argument(
        "--state-dir",
        default=os.environ.get("STATE_DIR", ".simlab"),
        help="state directory (default: $STATE_DIR or .simlab); the cluster lives in <state>/k8s",
    )
    ap.add_argument(
        "--purge", action="store_true", help="down: also delete the PKI and the image store"
    )
    ap.add_argument("--timeout", type=float, default=240, help="up: seconds to wait for the node")
    args = ap.parse_args(argv)
    state = Path(args.state_dir)
    if not state.is_absolute():
        state = ROOT / state
    c = Cluster(state)
    try:
        if args.command == "build":
            build()
        elif args.command == "up":
            up(c, args.timeout)
        elif args.command == "down":
            down(c, purge=args.purge)
        elif args.command == "status":
            running = c.running()
            print(json.dumps({"running": running, **c.info()}, indent=2))
            return 0 if set(running) == set(PROCESSES) else 3
        elif args.command == "env":
            print(c.env_text())
    except ClusterError as exc:
        print(f"k8s: ERROR: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
