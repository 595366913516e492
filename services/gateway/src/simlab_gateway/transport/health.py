"""grpc.health.v1.Health: SERVING while the gateway can reach NATS. List is left
UNIMPLEMENTED (the Health protocol's default). Anyone may ask, without credentials (probes,
load balancers), so the endless Watch is bounded: at most MAX_WATCHERS at once in a gateway
process, RESOURCE_EXHAUSTED beyond."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

from grpc_health.v1 import health_pb2 as health_pb

from simlab.common.errors import Code, SimlabError
from simlab.health.v1.health_connect import Health
from simlab.transport.connect import to_connect

# Health watchers at once, all callers together: a few probes and balancers need a handful.
MAX_WATCHERS = 64


class HealthService(Health):
    def __init__(self, serving: Callable[[], bool], max_watchers: int = MAX_WATCHERS) -> None:
        self.serving = serving
        self.max_watchers = max_watchers
        self.watchers = 0

    def _status(self) -> health_pb.HealthCheckResponse:
        ok = self.serving()
        return health_pb.HealthCheckResponse(
            status=health_pb.HealthCheckResponse.SERVING
            if ok
            else health_pb.HealthCheckResponse.NOT_SERVING
        )

    async def check(
        self, request: health_pb.HealthCheckRequest, ctx: Any
    ) -> health_pb.HealthCheckResponse:
        return self._status()

    async def watch(
        self, request: health_pb.HealthCheckRequest, ctx: Any
    ) -> AsyncGenerator[health_pb.HealthCheckResponse]:
        if self.watchers >= self.max_watchers:
            raise to_connect(
                SimlabError(
                    Code.RESOURCE_EXHAUSTED,
                    f"at most {self.max_watchers} Health.Watch streams at once; use Check",
                )
            )
        self.watchers += 1
        try:
            last = None
            while True:
                status = self._status()
                if status != last:
                    yield status
                    last = status
                await asyncio.sleep(1)
        finally:
            self.watchers -= 1
