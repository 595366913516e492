"""python -m simlab_gateway: the public API and web UI, configured by SIMLAB_GATEWAY_*."""

from simlab.common.service import run_service

from .app import run
from .settings import Settings


def main() -> None:
    run_service("gateway", Settings.from_env, run)


if __name__ == "__main__":
    main()
