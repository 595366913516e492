"""Wiring: settings -> adapters (the job store, JetStream, the object store, a launcher) ->
core (the Runner). `python -m simlab_runner` runs one App: it reconciles what it finds with
the job store, then acts on job events until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from simlab.adapters.objectstore import ObjectStore
from simlab.adapters.objectstore_factory import open_object_store
from simlab.common.errors import SimlabError
from simlab.common.service import stop_signal
from simlab.common.startup import when_reachable
from simlab.transport.errors import is_refusal
from simlab_runner.adapters.consumer import JobEventConsumer
from simlab_runner.adapters.jobstore import RunnerJobStore
from simlab_runner.adapters.local_launcher import LocalProcessLauncher
from simlab_runner.adapters.log_shipper import NatsLogShipper
from simlab_runner.adapters.worker_tokens import WorkerTokens
from simlab_runner.core.ports import (
    FailureHandler,
    JobEvents,
    Launcher,
    LiveLog,
    LogSink,
    ShardExit,
)
from simlab_runner.core.runner import Runner
from simlab_runner.core.scheduler import FairScheduler
from simlab_runner.settings import KubernetesLauncherSettings, Settings

log = logging.getLogger("runner")
# How often the jobs holding workers are checked for an end the runner did not see.
RELEASE_INTERVAL_S = 5.0


class App:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopping = asyncio.Event()
        self.jobstore: RunnerJobStore
        self.log_shipper: NatsLogShipper
        self.launcher: Launcher
        self.runner: Runner
        self.events: JobEvents
        self.consuming: asyncio.Task[None]
        self.releasing: asyncio.Task[None]

    async def start(self) -> None:
        settings = self.settings
        self.jobstore = RunnerJobStore(
            settings.jobstore, settings.service_token, retry_for_s=settings.jobstore_retry_s
        )
        store_log = log_sink(open_object_store(settings.object_store))
        self.log_shipper = await NatsLogShipper.connect(settings.nats_url)
        self.launcher = await self._launcher(store_log)
        self.runner = Runner(
            self.jobstore,
            self.launcher,
            FairScheduler(settings.max_workers, settings.max_workers_per_user),
        )
        self.events = await JobEventConsumer.connect(settings.nats_url)
        await when_reachable(
            "the job store",
            self.runner.reconcile,
            lambda error: isinstance(error, SimlabError) and not is_refusal(error),
            log,
        )
        log.info("runner ready", extra={"launcher": settings.launcher.kind})
        self.consuming = asyncio.create_task(
            self.events.run(self.runner.handle_event, self.stopping), name="job-events"
        )
        self.releasing = asyncio.create_task(self._release_ended(), name="release-ended")

    async def _release_ended(self) -> None:
        """Every RELEASE_INTERVAL_S: frees the workers of jobs that ended unseen (Kubernetes
        reports no shard exits) and starts what waited on a job store that was away."""
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), RELEASE_INTERVAL_S)
            if self.stopping.is_set():
                return
            try:
                await self.runner.release_ended()
            except SimlabError as error:
                log.warning("checking running jobs failed: %s", error)

    async def _launcher(self, store_log: LogSink) -> Launcher:
        # The launcher reports to the runner, which drives the launcher: built first, it
        # reaches the runner through these.
        async def on_exit(exit_: ShardExit) -> None:
            await self.runner.on_shard_exit(exit_)

        async def on_failure(job_id: str, message: str, log_tail: str) -> None:
            await self.runner.on_job_failure(job_id, message, log_tail)

        launcher = self.settings.launcher
        tokens = WorkerTokens(self.settings.job_token_secret, self.settings.worker_token_ttl_s)
        if isinstance(launcher, KubernetesLauncherSettings):
            return kubernetes_launcher(
                launcher, on_failure, store_log, self.log_shipper, tokens, self.settings.max_workers
            )
        local = LocalProcessLauncher(
            launcher.state_dir,
            launcher.worker_env,
            on_exit,
            store_log,
            self.log_shipper,
            tokens,
            grace_s=launcher.stop_grace_s,
            registration=launcher.registration,
            warm_start=launcher.warm_start,
        )
        await local.warm_up()
        return local

    async def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self.consuming
            await self.releasing
        await self.events.close()
        await self.launcher.close(stop_workers=self.settings.stop_workers_on_exit)
        await self.log_shipper.close()
        await self.jobstore.close()
        log.info("runner stopped")


def log_sink(store: ObjectStore) -> LogSink:
    async def store_log(job_id: str, shard: int, data: bytes) -> None:
        await asyncio.to_thread(store.put_bytes, f"jobs/{job_id}/logs/shard-{shard}.log", data)

    return store_log


def kubernetes_launcher(
    settings: KubernetesLauncherSettings,
    on_failure: FailureHandler,
    store_log: LogSink,
    live_log: LiveLog,
    tokens: WorkerTokens,
    max_workers: int,
) -> Launcher:
    # Imported here: the local launcher (`make run`) does without the Kubernetes client.
    from kubernetes import client, config

    from simlab_runner.adapters.k8s_launcher import KubernetesLauncher

    if settings.kubeconfig:
        config.load_kube_config(settings.kubeconfig)
    else:
        config.load_incluster_config()
    return KubernetesLauncher(
        settings.manifests,
        client.ApiClient(),
        on_failure,
        store_log,
        live_log,
        tokens,
        unschedulable_grace_s=settings.unschedulable_grace_s,
        # One follower per running pod, and the runner runs at most this many.
        max_log_followers=max_workers,
    )


async def run(settings: Settings) -> None:
    """Runs until SIGTERM or SIGINT, then stops: a local launcher's workers too, unless
    SIMLAB_RUNNER_STOP_WORKERS_ON_EXIT=false."""
    # Listening from the start: the reconciliation may wait long for the job store, and a
    # stop asked for meanwhile still ends in a clean stop.
    stop = asyncio.ensure_future(stop_signal())
    app = App(settings)
    try:
        await app.start()
        await stop
    finally:
        stop.cancel()
    await app.stop()
