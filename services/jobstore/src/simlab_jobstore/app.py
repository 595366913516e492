"""Wiring: settings -> adapters (Postgres, NATS, the outbox relay, the object store) -> core
-> transport (the gRPC server). `python -m simlab_jobstore` runs one App; tests start one
in-process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health
from nats.aio.client import Client as Nats
from psycopg_pool import AsyncConnectionPool

from simlab.adapters.bus import close_nats, connect_nats
from simlab.adapters.objectstore_factory import open_object_store
from simlab.common import logstream
from simlab.common.events import ensure_stream
from simlab.common.service import stop_signal
from simlab.common.startup import when_reachable
from simlab.jobstore.v1 import jobstore_pb2, jobstore_pb2_grpc

from .adapters.migrate import migrate
from .adapters.postgres import PostgresJobStore, open_pool
from .adapters.relay import OutboxRelay
from .settings import KILL_AFTER_COMMIT, Settings
from .transport import convert
from .transport.auth import Authenticator
from .transport.service import JobStoreService

log = logging.getLogger("simlab_jobstore")

RELAY_DRAIN_S = 5.0
SERVER_OPTIONS = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
# What a health check may name: the server ("", what the probes ask) or its one service.
HEALTH_SERVICES = ("", jobstore_pb2.DESCRIPTOR.services_by_name["JobStoreService"].full_name)


class App:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # NOT_SERVING until migrations are applied and NATS is reached, and from the start of
        # the drain on (enter_graceful_shutdown).
        self.health = health.HealthServicer()
        self.address = ""
        self.pool: AsyncConnectionPool[Any]
        self.nats: Nats
        self.relay: OutboxRelay
        self.relay_task: asyncio.Task[None]
        self.server: grpc.aio.Server
        self.service: JobStoreService

    async def start(self) -> None:
        settings = self.settings
        await when_reachable(
            "PostgreSQL",
            lambda: migrate(settings.database_url),
            lambda error: isinstance(error, psycopg.OperationalError),
            log,
        )
        self.pool = open_pool(settings.database_url, settings.pool_size)
        await self.pool.open(wait=True)
        self.nats = await connect_nats(settings.nats_url, "simlab-jobstore")
        js = self.nats.jetstream()
        # The job store manages both streams: the other services' NATS users may not.
        await ensure_stream(js)
        await logstream.ensure_stream(js)
        self.relay = OutboxRelay(settings.database_url, js)
        store = PostgresJobStore(
            self.pool,
            self._on_commit(),
            convert.WIRE_EVENTS,
            settings.quotas,
            settings.max_study_points,
        )
        auth = Authenticator(settings.service_token, settings.job_token_secret)
        objects = await asyncio.to_thread(open_object_store, settings.object_store)

        self.server = grpc.aio.server(options=SERVER_OPTIONS)
        self.service = JobStoreService(
            store, auth, objects, share_link_default_ttl_s=settings.share_link_default_ttl_s
        )
        jobstore_pb2_grpc.add_JobStoreServiceServicer_to_server(self.service, self.server)
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        host = settings.listen.rpartition(":")[0]
        port = self.server.add_insecure_port(settings.listen)
        self.address = f"{host}:{port}"
        await self.server.start()
        self.relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("jobstore ready", extra={"address": self.address})

    async def _set_health(self, status: int) -> None:
        for service in HEALTH_SERVICES:
            await self.health.set(service, status)

    def _on_commit(self) -> Callable[[], None]:
        if self.settings.fault == KILL_AFTER_COMMIT:
            log.warning("fault injection on: dying after the first outbox commit")
            return lambda: os.kill(os.getpid(), signal.SIGKILL)
        return self.relay.wake

    async def stop(self) -> None:
        """Drains, in an order that gives no caller a final-looking answer: NOT_SERVING first
        (readiness off) while calls are still served, then no new calls (callers get
        UNAVAILABLE and retry elsewhere), calls in flight finish (those that outlast the grace
        are cancelled: UNAVAILABLE too), the outbox is relayed, and only then the database
        pool closes. Whatever fails meanwhile is answered UNAVAILABLE, never INTERNAL."""
        self.service.draining = True
        await self.health.enter_graceful_shutdown()
        await asyncio.sleep(self.settings.drain_delay_s)
        await self.server.stop(self.settings.drain_grace_s)
        self.relay.stop()
        try:
            await asyncio.wait_for(self.relay_task, RELAY_DRAIN_S)
        except TimeoutError:
            log.warning("outbox relay did not drain in time; the next start publishes the rest")
        # NATS away: what was not relayed stays in the outbox for the next start.
        await close_nats(self.nats)
        await self.pool.close()
        log.info("jobstore stopped")


async def run(settings: Settings) -> None:
    """Serves until SIGTERM or SIGINT, then shuts down gracefully."""
    app = App(settings)
    await app.start()
    await stop_signal()
    log.info("jobstore stopping")
    await app.stop()
