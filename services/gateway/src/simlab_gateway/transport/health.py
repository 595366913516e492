"""grpc.health.v1.Health: SERVING while the gateway can reach NATS. List is left
UNIMPLEMENTED (the Health protocol's default)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from grpc_health.v1 import health_pb2 as health_pb

from simlab.health.v1.health_connect import Health


class HealthService(Health):
    def __init__(self, serving: Callable[[], bool]) -> None:
        self.serving = serving

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
    ) -> AsyncIterator[health_pb.HealthCheckResponse]:
        last = None
        while True:
            status = self._status()
            if status != last:
                yield status
                last = status
            await asyncio.sleep(1)
