"""`make run`: the whole platform in the foreground with embedded defaults, until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from simlab.common.errors import SimlabError
from simlab.devstack.stack import Stack


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simlab.devstack", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".simlab"))
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()

    launcher = os.environ.get("SIMLAB_LAUNCHER", "local")
    stack = Stack(args.state_dir, args.port, launcher=launcher)
    stopping = False

    def request_stop(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    started = time.monotonic()
    try:
        stack.start()
        print(
            f"simlab ready at {stack.url} in {time.monotonic() - started:.1f} s "
            f"(state in {stack.state_dir}); Ctrl-C stops it",
            flush=True,
        )
        print(
            f"sign in the web UI (one-time link, valid 2 minutes; `simlab login --web` "
            f"prints another): {stack.login_link()}\n"
            f"the CLI and Client() find the token in {stack.state_dir / 'token'}",
            flush=True,
        )
        while not stopping:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"simlab: {name} exited with code {process.returncode}", file=sys.stderr)
                    stopping = True
            time.sleep(0.2)
    except (RuntimeError, SimlabError) as error:
        print(f"simlab: {error}", file=sys.stderr)
        stack.stop()
        sys.exit(1)
    print("simlab: stopping…", flush=True)
    stack.stop()
    print("simlab: stopped", flush=True)


if __name__ == "__main__":
    main()
