"""python -m simlab_runner: the runner service, configured by SIMLAB_RUNNER_* (see settings)."""

from simlab.common.service import run_service
from simlab_runner.app import run
from simlab_runner.settings import Settings


def main() -> None:
    run_service("runner", Settings.from_env, run)


if __name__ == "__main__":
    main()
