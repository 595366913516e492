"""python -m simlab_gateway: the public API and web UI, configured by SIMLAB_GATEWAY_*."""

import gc

from simlab.common.service import run_service

from .app import run
from .settings import Settings

# Allocations (net) between collections of the youngest generation; CPython's default is 700.
# A job change watched by 1,000 streams keeps ~9,000 objects alive for a moment (each
# watcher's wake-up, its message on the way out), so the default collected once per change:
# 2.5-3 ms of CPU, 7 % of the change's, to find no garbage.
GC_YOUNG_THRESHOLD = 20_000


def main() -> None:
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    run_service("gateway", Settings.from_env, run)


if __name__ == "__main__":
    main()
