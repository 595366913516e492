"""python -m simlab_jobstore: the job store service, configured by SIMLAB_JOBSTORE_*."""

from __future__ import annotations

import asyncio
import sys

from simlab.common.logs import setup
from simlab.common.settings import SettingsError

from .app import run
from .config import Settings


def main() -> None:
    log = setup("jobstore")
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        log.error("bad configuration: %s", error)
        sys.exit(2)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
