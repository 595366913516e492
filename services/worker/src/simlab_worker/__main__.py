"""`python -m simlab_worker`: run one shard of a job. Wiring only: settings -> adapters -> core.

Exit codes: 0 done (or stopped), 1 the model failed, 2 the job can never run here (unknown
model, invalid parameters, bad configuration, refused by the job store), 3 the job store kept
failing (unreachable, restarting, without its database) for SIMLAB_WORKER_RETRY_S."""

from __future__ import annotations

import signal
import sys
import threading

from simlab.adapters import objectstore_factory
from simlab.common import logs
from simlab.common.errors import SimlabError
from simlab.common.settings import Env, SettingsError
from simlab.models.registry import catalogue
from simlab_worker.adapters.jobstore import GrpcJobStore
from simlab_worker.core.shard import Exit, ShardRunner
from simlab_worker.settings import PREFIX, Settings


def main() -> int:
    log = logs.setup("worker")
    env = Env(PREFIX)
    try:
        settings = Settings.from_env(env)
        objects = objectstore_factory.from_env(env)
    except (SettingsError, SimlabError, OSError) as exc:
        log.error("bad configuration", extra={"error": str(exc)})
        return Exit.INVALID_JOB

    # SIGTERM (Kubernetes deleting the pod) and Ctrl-C: finish the block, report it, exit 0.
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    log.info("starting", extra={"job_id": settings.job_id, "shard": settings.shard})
    jobstore = GrpcJobStore(settings.jobstore, settings.token, retry_for_s=settings.retry_s)
    try:
        code = ShardRunner(
            jobstore=jobstore,
            objects=objects,
            job_id=settings.job_id,
            shard=settings.shard,
            report_interval_s=settings.report_interval_s,
            load_catalogue=catalogue,
            stop_requested=stop.is_set,
        ).run()
    finally:
        jobstore.close()
    log.info("exiting", extra={"job_id": settings.job_id, "code": int(code)})
    return code


if __name__ == "__main__":
    sys.exit(main())
