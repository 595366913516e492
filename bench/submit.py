"""Submit throughput and latency through the gateway: many concurrent native-gRPC clients,
each submitting small jobs. The runner is stopped meanwhile so that the numbers measure
gateway + job store + Postgres + outbox, not thousands of worker processes."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
from google.protobuf import struct_pb2

from bench.stats import latency_line
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import simulation_pb2_grpc


async def _client(target: str, token: str, count: int, latencies: list[float]) -> None:
    params = struct_pb2.Struct()
    params.update({"samples": 1000})
    async with grpc.aio.insecure_channel(target) as channel:
        stub = simulation_pb2_grpc.SimulationServiceStub(channel)
        for _ in range(count):
            request = pb.SubmitJobRequest(
                model="pi", parameters=params, seed=1, request_id=uuid.uuid4().hex
            )
            started = time.perf_counter()
            await stub.SubmitJob(
                request, timeout=30, metadata=(("authorization", f"Bearer {token}"),)
            )
            latencies.append(time.perf_counter() - started)


async def _run(target: str, token: str, total: int, clients: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    # Warm the connections and the pool first; the measured run starts after.
    await asyncio.gather(*(_client(target, token, 5, []) for _ in range(clients)))
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(target, token, total // clients, latencies) for _ in range(clients))
    )
    return time.perf_counter() - started, latencies


def run(stack: Stack, total: int, clients: int) -> None:
    stack.stop_service("runner")
    try:
        target = stack.url.removeprefix("http://")
        elapsed, latencies = asyncio.run(_run(target, stack.token, total, clients))
    finally:
        stack.start_service("runner")
    rate = len(latencies) / elapsed
    print(f"submits: {len(latencies)} in {elapsed:.2f} s = {rate:.0f} submits/s")
    print(latency_line("submit latency", latencies))
