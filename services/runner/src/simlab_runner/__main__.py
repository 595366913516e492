"""Wiring of the runner: settings -> adapters (JetStream, job store, launcher, object store)
-> core. Reconciles first, then consumes job events until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from simlab.adapters.objectstore import ObjectStore
from simlab.adapters.objectstore_factory import from_env as object_store_from_env
from simlab.common.errors import SimlabError
from simlab.common.logs import setup
from simlab.common.settings import Env
from simlab.common.startup import when_reachable
from simlab.common.tokens import job_token
from simlab.transport.errors import is_refusal
from simlab_runner.adapters.consumer import JobEventConsumer
from simlab_runner.adapters.jobstore import RunnerJobStore
from simlab_runner.adapters.local_launcher import LocalProcessLauncher
from simlab_runner.adapters.log_shipper import NatsLogShipper
from simlab_runner.core.launcher import FailureHandler, Launcher, LiveLog, LogSink, ShardExit
from simlab_runner.core.manifests import kube_settings
from simlab_runner.core.runner import Runner

# Other services' settings, secrets among them, never reach a worker.
PRIVATE_PREFIXES = ("SIMLAB_RUNNER_", "SIMLAB_JOBSTORE_", "SIMLAB_GATEWAY_")


def worker_environment(jobstore: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE_PREFIXES)}
    env["SIMLAB_WORKER_JOBSTORE"] = jobstore
    return env


def log_sink(store: ObjectStore) -> LogSink:
    async def store_log(job_id: str, shard: int, data: bytes) -> None:
        await asyncio.to_thread(store.put_bytes, f"jobs/{job_id}/logs/shard-{shard}.log", data)

    return store_log


def kubernetes_launcher(
    env: Env, on_failure: FailureHandler, store_log: LogSink, live_log: LiveLog
) -> Launcher:
    from kubernetes import client, config

    from simlab_runner.adapters.k8s_launcher import KubernetesLauncher

    kubeconfig = env.str("KUBECONFIG", "")
    if kubeconfig:
        config.load_kube_config(kubeconfig)
    else:
        config.load_incluster_config()
    settings = kube_settings(env)
    return KubernetesLauncher(
        settings,
        client.ApiClient(),
        on_failure,
        store_log,
        live_log,
        unschedulable_grace_s=env.float("UNSCHEDULABLE_GRACE_S", 120.0),
    )


async def main() -> None:
    env = Env("SIMLAB_RUNNER")
    log = setup("runner", env.str("LOG_LEVEL", "INFO"))
    launcher_kind = env.str("LAUNCHER", "local")
    target = env.str("JOBSTORE")
    secret = env.str("JOB_TOKEN_SECRET")
    jobstore = RunnerJobStore(
        target, env.str("SERVICE_TOKEN"), retry_for_s=env.float("JOBSTORE_RETRY_S", 60.0)
    )
    store_log = log_sink(object_store_from_env(env))
    runner: Runner  # the launcher reports to the runner, which drives the launcher

    async def on_exit(exit_: ShardExit) -> None:
        await runner.on_shard_exit(exit_)

    async def on_failure(job_id: str, message: str, log_tail: str) -> None:
        await runner.on_job_failure(job_id, message, log_tail)

    launcher: Launcher
    log_shipper = await NatsLogShipper.connect(env.str("NATS_URL"))
    if launcher_kind == "local":
        launcher = LocalProcessLauncher(
            Path(env.str("STATE_DIR")) / "local",
            worker_environment(target),
            on_exit,
            store_log,
            log_shipper,
            grace_s=env.float("STOP_GRACE_S", 10.0),
        )
    elif launcher_kind == "kubernetes":
        launcher = kubernetes_launcher(env, on_failure, store_log, log_shipper)
    else:
        raise SystemExit(f"SIMLAB_RUNNER_LAUNCHER={launcher_kind!r}: use local or kubernetes")
    runner = Runner(jobstore, launcher, lambda job_id: job_token(secret, job_id))

    consumer = await JobEventConsumer.connect(env.str("NATS_URL"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await when_reachable(
        "the job store",
        runner.reconcile,
        lambda error: isinstance(error, SimlabError) and not is_refusal(error),
        log,
    )
    log.info("runner ready", extra={"launcher": launcher_kind})
    consuming = asyncio.create_task(consumer.run(runner.handle_event, stop))
    await stop.wait()
    with contextlib.suppress(asyncio.CancelledError):
        await consuming
    await consumer.close()
    await launcher.close(stop_workers=env.bool("STOP_WORKERS_ON_EXIT", True))
    await log_shipper.close()
    await jobstore.close()
    log.info("runner stopped")


if __name__ == "__main__":
    asyncio.run(main())
