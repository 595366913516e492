"""Wiring: settings -> adapters (the job store over gRPC, the object store) -> core (one
ShardRunner). Synchronous: the worker runs one shard and ends with its exit code."""

from __future__ import annotations

import logging
import signal
import threading

from simlab.adapters.objectstore_factory import open_object_store
from simlab.common.errors import SimlabError
from simlab.models.registry import catalogue
from simlab_worker.adapters.jobstore import GrpcJobStore
from simlab_worker.core.shard import Exit, ShardRunner
from simlab_worker.settings import Settings

log = logging.getLogger("worker")


def run(settings: Settings) -> Exit:
    """Runs the shard. SIGTERM (Kubernetes deleting the pod) and SIGINT (Ctrl-C): finish the
    block, report it, exit 0."""
    try:
        objects = open_object_store(settings.object_store)
    except (SimlabError, OSError) as exc:
        # A store that cannot be opened (no S3 after the retries, a root that cannot be
        # created) is bad configuration too: the job can never run here.
        log.error("bad configuration", extra={"error": str(exc)})
        return Exit.INVALID_JOB
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
