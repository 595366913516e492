"""python -m simlab_jobstore: the job store service, configured by SIMLAB_JOBSTORE_*."""

from simlab.common.service import run_service

from .app import run
from .settings import Settings


def main() -> None:
    run_service("jobstore", Settings.from_env, run)


if __name__ == "__main__":
    main()
