"""grpc.health.v1.Health: NOT_SERVING until the service is ready (migrations applied, NATS
connected) and again while it shuts down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from simlab.health.v1 import health_pb2 as health_pb
from simlab.health.v1 import health_pb2_grpc

Status = health_pb.HealthCheckResponse.ServingStatus


class HealthServicer(health_pb2_grpc.HealthServicer):
    def __init__(self) -> None:
        self._status: Status = health_pb.HealthCheckResponse.NOT_SERVING
        self._changed = asyncio.Condition()

    async def set_serving(self, serving: bool) -> None:
        async with self._changed:
            self._status = (
                health_pb.HealthCheckResponse.SERVING
                if serving
                else health_pb.HealthCheckResponse.NOT_SERVING
            )
            self._changed.notify_all()

    async def Check(
        self, request: health_pb.HealthCheckRequest, context: Any
    ) -> health_pb.HealthCheckResponse:
        return health_pb.HealthCheckResponse(status=self._status)

    async def Watch(
        self, request: health_pb.HealthCheckRequest, context: Any
    ) -> AsyncIterator[health_pb.HealthCheckResponse]:
        while True:
            sent = self._status
            yield health_pb.HealthCheckResponse(status=sent)
            await self._wait_for_change(sent)

    async def _wait_for_change(self, sent: Status) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._status != sent)
