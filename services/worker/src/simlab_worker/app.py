"""Wiring: settings -> adapters (the job store over gRPC, the object store) -> core (one
ShardRunner). Synchronous: the worker runs one shard and ends with its exit code."""

from __future__ import annotations

import logging
import signal
import threading

from simlab.adapters.objectstore import ObjectStore
from simlab.models.registry import catalogue
from simlab_worker.adapters.jobstore import GrpcJobStore
from simlab_worker.core.shard import Exit, ShardRunner
from simlab_worker.settings import Settings

log = logging.getLogger("worker")


def run(settings: Settings, objects: ObjectStore) -> Exit:
    """Runs the shard. SIGTERM (Kubernetes deleting the pod) and SIGINT (Ctrl-C): finish the
    block, report it, exit 0."""
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
