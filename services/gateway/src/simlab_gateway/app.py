"""Wiring: settings -> adapters (the job store, NATS, the object store) -> core (the use
cases) -> transport (the API services and plain HTTP in one Starlette app), served by
hypercorn: HTTP/1.1 and h2c on one port (gRPC needs HTTP/2, browsers speak gRPC-Web over
either). `python -m simlab_gateway` runs one App."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys

from hypercorn.asyncio import serve

from simlab.adapters.objectstore_factory import open_object_store
from simlab.common.errors import SimlabError
from simlab.common.service import stop_signal
from simlab.common.startup import when_reachable
from simlab.health.v1.health_connect import HealthASGIApplication
from simlab.models.registry import catalogue
from simlab.transport.errors import is_refusal
from simlab.transport.models import schema_from_proto

from .adapters.builtins import builtin_models
from .adapters.events import JobEvents
from .adapters.jobstore import JobStoreClient
from .adapters.logs import JobLogs
from .core.auth import Authenticator
from .core.bundles import BundleStore
from .core.code import CodeDownloads
from .core.downloads import Artifacts
from .core.jobs import Jobs
from .core.models import Models, PushRules
from .core.sessions import Sessions
from .core.shares import ShareLinks
from .core.streams import StreamLimits
from .core.study_use_cases import Studies
from .core.watch import JobFeeds
from .settings import PREFIX as SETTINGS_PREFIX
from .settings import Settings
from .transport.health import HealthService
from .transport.hosts import AllowedHosts
from .transport.http import gateway_app
from .transport.http2 import hypercorn_config
from .transport.service import SimulationService, simulation_app

log = logging.getLogger("gateway")


class App:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.jobstore: JobStoreClient
        self.events: JobEvents
        self.server: asyncio.Task[None]
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        """Returns once the port accepts connections."""
        settings = self.settings
        # A user is waiting: ride out a job-store restart, not a long outage.
        self.jobstore = JobStoreClient(
            settings.jobstore, settings.service_token, retry_for_s=settings.jobstore_retry_s
        )
        auth = Authenticator(
            settings.tokens,
            self.jobstore.resolve_share_token,
            Sessions(settings.session_secret) if settings.session_secret else None,
        )
        self.events = await JobEvents.connect(settings.nats_url)
        logs = JobLogs(self.events.client)
        objects = open_object_store(settings.object_store)
        artifacts = Artifacts(self.jobstore, objects, settings.redirect_downloads)
        limits = StreamLimits(
            settings.max_streams_per_user, f"{SETTINGS_PREFIX}_MAX_STREAMS_PER_USER"
        )
        feeds = JobFeeds(self.jobstore, self.events, logs, objects, limits)
        bundles = BundleStore(objects)
        rules = PushRules(
            settings.authors, settings.max_bundle_bytes, settings.registration_timeout_s
        )
        models = Models(
            self.jobstore, bundles, feeds, builtin_models(catalogue()), schema_from_proto, rules
        )
        # Built-in models are registered versions too: workers load every model alike.
        await when_reachable(
            "the job store",
            models.seed,
            lambda error: isinstance(error, SimlabError) and not is_refusal(error),
            log,
        )
        studies = Studies(
            self.jobstore, models, limits, settings.max_study_points, settings.max_shards
        )
        service = SimulationService(
            auth,
            models,
            Jobs(self.jobstore, models, settings.max_shards),
            ShareLinks(self.jobstore),
            feeds,
            artifacts,
            studies,
        )
        events = self.events
        app = AllowedHosts(
            gateway_app(
                [
                    simulation_app(service, settings.max_bundle_bytes),
                    HealthASGIApplication(HealthService(lambda: events.connected)),
                ],
                auth,
                artifacts,
                CodeDownloads(self.jobstore, bundles, models),
                studies,
                settings.web_dir,
            ),
            settings.allowed_hosts,
        )
        config = hypercorn_config(settings.max_streams_per_user)
        # hypercorn tells no one when it listens: bind here, hand it a duplicate of each
        # socket, and watch ours for the listen() it makes once it serves.
        config.bind = [settings.listen]
        sockets = config.create_sockets().insecure_sockets
        config.bind = [f"fd://{os.dup(sock.fileno())}" for sock in sockets]
        # Starlette types ASGI messages as plain mappings, hypercorn as TypedDicts.
        serving = serve(app, config, shutdown_trigger=self.stopping.wait)  # type: ignore[arg-type]
        self.server = asyncio.create_task(serving)
        try:
            await _listening(sockets, self.server)
        finally:
            for sock in sockets:
                sock.close()
        log.info(
            "gateway ready",
            extra={
                "url": f"http://{settings.listen}",
                "allowed_hosts": sorted(settings.allowed_hosts or ["*"]),
                "browser_sign_in": settings.session_secret is not None,
            },
        )

    async def stop(self) -> None:
        """Stops taking connections, lets requests in flight finish (hypercorn's graceful
        timeout), then closes the connections to NATS and the job store."""
        self.stopping.set()
        try:
            await self.server
        finally:
            await self.events.close()
            await self.jobstore.close()


async def run(settings: Settings) -> None:
    """Serves until SIGTERM or SIGINT (or until the server fails), then shuts down."""
    app = App(settings)
    try:
        await app.start()
    except SimlabError as error:
        # Something it needs did not answer in time (the object store, say): one line.
        log.error("gateway could not start: %s", error)
        sys.exit(1)
    signal = asyncio.create_task(stop_signal())
    await asyncio.wait({signal, app.server}, return_when=asyncio.FIRST_COMPLETED)
    signal.cancel()
    await app.stop()


async def _listening(sockets: list[socket.socket], server: asyncio.Task[None]) -> None:
    """Returns once every socket listens; raises what the server failed with, if it did."""
    while not all(s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) for s in sockets):
        if server.done():
            await server
            raise RuntimeError("the server stopped before it listened")
        await asyncio.sleep(0.01)
