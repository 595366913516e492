"""Wiring of the gateway: settings -> adapters -> core -> transport, served by hypercorn
(HTTP/1.1 and h2c on one port: gRPC needs HTTP/2, browsers speak gRPC-Web over either)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from hypercorn.asyncio import serve
from hypercorn.config import Config

from simlab.adapters.objectstore_factory import from_env as object_store_from_env
from simlab.common.errors import SimlabError
from simlab.common.logs import setup
from simlab.common.settings import Env
from simlab.health.v1.health_connect import HealthASGIApplication
from simlab.models.registry import catalogue
from simlab.v1.simulation_connect import SimulationServiceASGIApplication
from simlab_gateway.adapters.events import JobEvents
from simlab_gateway.adapters.jobstore import JobStoreClient
from simlab_gateway.adapters.logs import JobLogs
from simlab_gateway.core.auth import Authenticator
from simlab_gateway.transport.http import GatewayApp, HealthService
from simlab_gateway.transport.service import SimulationService

REPO_WEB_DIST = Path(__file__).resolve().parents[4] / "web" / "dist"


async def main() -> None:
    env = Env("SIMLAB_GATEWAY")
    log = setup("gateway", env.str("LOG_LEVEL", "INFO"))
    listen = env.str("LISTEN", "127.0.0.1:8080")
    local_user = env.str("LOCAL_USER", "") or None
    tokens = Authenticator.parse_tokens(env.str("TOKENS", ""))
    if not tokens and not local_user:
        raise SystemExit(
            "set SIMLAB_GATEWAY_TOKENS or SIMLAB_GATEWAY_LOCAL_USER: nobody could sign in"
        )
    # A user is waiting: ride out a job-store restart, not a long outage.
    jobstore = JobStoreClient(
        env.str("JOBSTORE"),
        env.str("SERVICE_TOKEN"),
        retry_for_s=env.float("JOBSTORE_RETRY_S", 5.0),
    )
    auth = Authenticator(tokens, local_user, jobstore.resolve_share_token)
    events = await JobEvents.connect(env.str("NATS_URL"))
    logs = JobLogs(events.client)
    await logs.ensure_stream()
    store = object_store_from_env(env)
    service = SimulationService(
        auth, catalogue(), jobstore, events, logs, store, env.int("MAX_SHARDS", 64)
    )

    async def check_job(owner: str, job_id: str) -> object:
        return await jobstore.get_job(owner, job_id)

    app = GatewayApp(
        [
            SimulationServiceASGIApplication(service),
            HealthASGIApplication(HealthService(lambda: events.connected)),
        ],
        auth,
        check_job,
        store,
        Path(env.str("WEB_DIR", str(REPO_WEB_DIST))),
        redirect_downloads=env.bool("REDIRECT_DOWNLOADS", True),
    )

    config = Config()
    config.bind = [listen]
    config.accesslog = None
    config.graceful_timeout = 5.0
    # gRPC clients keep one HTTP/2 connection for thousands of calls: hypercorn's defaults
    # (GOAWAY after 1,000 requests, 100 streams, 5 s idle) would cut busy clients off.
    config.keep_alive_max_requests = 2**31
    config.h2_max_concurrent_streams = 1000
    config.keep_alive_timeout = 300.0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    log.info("gateway ready", extra={"url": f"http://{listen}", "local_user": local_user})
    try:
        await server
    finally:
        await events.close()
        await jobstore.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except SimlabError as error:
        raise SystemExit(f"gateway: {error}") from None
