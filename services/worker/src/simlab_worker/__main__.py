"""`python -m simlab_worker`: run one shard of a job (app.run).

Exit codes (core.shard.Exit): 0 done (or stopped), 1 the model failed, 2 the job can never run
here (code that is not the job's, invalid parameters, bad configuration, refused by the job
store), 3 the job store kept failing (unreachable, restarting, without its database) for
SIMLAB_WORKER_RETRY_S."""

from __future__ import annotations

import sys

from simlab.common import logs
from simlab.common.settings import SettingsError
from simlab_worker.app import run
from simlab_worker.core.shard import Exit
from simlab_worker.settings import Settings


def main() -> int:
    log = logs.setup("worker")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return Exit.INVALID_JOB
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
