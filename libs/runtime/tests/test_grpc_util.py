"""Internal channels find a restarted server again within seconds, however long it was away."""

from __future__ import annotations

import asyncio
import socket
import time

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from simlab.common.grpc_util import MAX_RECONNECT_BACKOFF_MS, aio_channel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(60)
def test_a_server_back_after_a_long_outage_is_reached_within_the_backoff_cap() -> None:
    async def scenario() -> float:
        target = f"127.0.0.1:{free_port()}"
        async with aio_channel(target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            # 20 s of refused connections: gRPC's default backoff would have grown past 10 s.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with pytest.raises(grpc.aio.AioRpcError):
                    await stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                await asyncio.sleep(0.5)
            server = grpc.aio.server()
            health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
            server.add_insecure_port(target)
            await server.start()
            back = time.monotonic()
            try:
                await stub.Check(health_pb2.HealthCheckRequest(), timeout=30, wait_for_ready=True)
                return time.monotonic() - back
            finally:
                await server.stop(None)

    took = asyncio.run(scenario())
    assert took < MAX_RECONNECT_BACKOFF_MS / 1000 * 1.5, f"reconnected after {took:.1f} s"
