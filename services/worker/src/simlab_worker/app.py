"""Wiring: settings -> adapters (the job store over gRPC, script processes) -> core (one
ShardRunner). Synchronous: the worker runs one shard and ends with its exit code."""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from simlab import usercode
from simlab_worker.adapters.jobstore import GrpcJobStore
from simlab_worker.adapters.memory import keep_freed_memory
from simlab_worker.adapters.script import SubprocessScripts
from simlab_worker.adapters.token_file import TokenFile
from simlab_worker.core.shard import Exit, ShardRunner
from simlab_worker.settings import Settings

log = logging.getLogger("worker")


def run(settings: Settings) -> Exit:
    """Runs the shard. SIGTERM (Kubernetes deleting the pod) and SIGINT (Ctrl-C): finish the
    block (or stop the script), report, exit 0."""
    keep_freed_memory()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    log.info("starting", extra={"job_id": settings.job_id, "shard": settings.shard})
    token: Callable[[], str] = (
        TokenFile(settings.token_file, settings.token)
        if settings.token_file
        else lambda: settings.token
    )
    jobstore = GrpcJobStore(settings.jobstore, token, retry_for_s=settings.retry_s)
    # The job's code and a script's outputs live here, private to this worker, until it exits.
    with tempfile.TemporaryDirectory(prefix="simlab-worker-") as workdir:
        try:
            code = ShardRunner(
                jobstore=jobstore,
                job_id=settings.job_id,
                shard=settings.shard,
                report_interval_s=settings.report_interval_s,
                runtime=runtime(settings.runtime),
                workdir=Path(workdir),
                load_code=usercode.load,
                inspect_code=usercode.inspect,
                scripts=SubprocessScripts(),
                stop_requested=stop.is_set,
            ).run()
        finally:
            jobstore.close()
    log.info("exiting", extra={"job_id": settings.job_id, "code": int(code)})
    return code


def runtime(name: str) -> str:
    """E.g. "simlab/worker:1.4 (Python 3.11.9, NumPy 2.4.6, SciPy 1.17.1)"."""
    versions = ", ".join(
        f"{label} {importlib.metadata.version(package)}"
        for label, package in (("NumPy", "numpy"), ("SciPy", "scipy"))
    )
    return f"{name} (Python {platform.python_version()}, {versions})"
