"""Health.Watch needs no credentials, so the gateway bounds how many run at once."""

from __future__ import annotations

import asyncio

import pytest
from connectrpc.code import Code as ConnectCode
from connectrpc.errors import ConnectError
from grpc_health.v1 import health_pb2 as health_pb

from simlab_gateway.transport.health import HealthService

SERVING = health_pb.HealthCheckResponse.SERVING


def test_health_watchers_beyond_the_cap_are_refused_and_an_ended_one_frees_its_place() -> None:
    async def scenario() -> None:
        health = HealthService(lambda: True, max_watchers=3)
        request = health_pb.HealthCheckRequest()
        held = [health.watch(request, None) for _ in range(3)]
        for stream in held:
            assert (await anext(stream)).status == SERVING
        with pytest.raises(ConnectError) as caught:
            await anext(health.watch(request, None))
        assert caught.value.code == ConnectCode.RESOURCE_EXHAUSTED
        await held[0].aclose()
        assert (await anext(health.watch(request, None))).status == SERVING

    asyncio.run(scenario())
