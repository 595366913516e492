"""Wiring of the runner: settings -> adapters (JetStream, job store, launcher, object store)
-> core. Reconciles first, then consumes job events until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from simlab.adapters.objectstore import from_env as object_store_from_env
from simlab.common.logs import setup
from simlab.common.settings import Env
from simlab.common.tokens import job_token
from simlab_runner.adapters.consumer import JobEventConsumer
from simlab_runner.adapters.jobstore import RunnerJobStore
from simlab_runner.adapters.local_launcher import LocalProcessLauncher
from simlab_runner.core.runner import Runner

# Other services' settings, secrets among them, never reach a worker.
PRIVATE_PREFIXES = ("SIMLAB_RUNNER_", "SIMLAB_JOBSTORE_", "SIMLAB_GATEWAY_")


def worker_environment(jobstore: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE_PREFIXES)}
    env["SIMLAB_WORKER_JOBSTORE"] = jobstore
    return env


async def main() -> None:
    env = Env("SIMLAB_RUNNER")
    log = setup("runner", env.str("LOG_LEVEL", "INFO"))
    launcher_kind = env.str("LAUNCHER", "local")
    if launcher_kind != "local":
        raise SystemExit(f"SIMLAB_RUNNER_LAUNCHER={launcher_kind!r} is not supported (use local)")
    target = env.str("JOBSTORE")
    secret = env.str("JOB_TOKEN_SECRET")
    jobstore = RunnerJobStore(target, env.str("SERVICE_TOKEN"))
    store = object_store_from_env(Env("SIMLAB_WORKER"))
    runner: Runner

    async def on_exit(exit_: object) -> None:
        await runner.on_shard_exit(exit_)  # type: ignore[arg-type]

    launcher = LocalProcessLauncher(
        Path(env.str("STATE_DIR")) / "local",
        worker_environment(target),
        on_exit,
        grace_s=env.float("STOP_GRACE_S", 10.0),
    )

    async def save_log(job_id: str, shard: int) -> None:
        path = launcher.log_path(job_id, shard)
        if path.exists():
            await asyncio.to_thread(store.put_file, f"jobs/{job_id}/logs/shard-{shard}.log", path)

    runner = Runner(jobstore, launcher, lambda job_id: job_token(secret, job_id), save_log)
    consumer = await JobEventConsumer.connect(env.str("NATS_URL"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await runner.reconcile()
    log.info("runner ready", extra={"launcher": launcher_kind})
    consuming = asyncio.create_task(consumer.run(runner.handle_event, stop))
    await stop.wait()
    with contextlib.suppress(asyncio.CancelledError):
        await consuming
    await consumer.close()
    await launcher.close(stop_workers=env.bool("STOP_WORKERS_ON_EXIT", True))
    await jobstore.close()
    log.info("runner stopped")


if __name__ == "__main__":
    asyncio.run(main())
