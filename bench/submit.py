"""Unary call throughput and latency through the gateway: many concurrent native-gRPC clients
on the same machine. The same load generator drives, in one run, the framework alone
(`grpc.health.v1.Health/Check`), `ListModels` (no database) and `SubmitJob` of small jobs, so
that SubmitJob is read against the ceiling the server framework leaves it. The runner is stopped
first and left stopped (the thousands of jobs queued here are not for running): the numbers
measure gateway + job store + Postgres + outbox, not worker processes, and the stack is spent
for anything that needs a runner afterwards."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import profile
from bench.report import Row
from bench.stats import latency_line, percentile
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import simulation_pb2_grpc

Call = Callable[[grpc.aio.Channel, tuple[tuple[str, str], ...]], Awaitable[object]]


def _health(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> Awaitable[object]:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(), timeout=30)


def _list_models(
    channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]
) -> Awaitable[object]:
    stub = simulation_pb2_grpc.SimulationServiceStub(channel)
    return stub.ListModels(pb.ListModelsRequest(), timeout=30, metadata=metadata)


_PI_PARAMS = struct_pb2.Struct()
_PI_PARAMS.update({"samples": 1000})


def _submit(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> Awaitable[object]:
    stub = simulation_pb2_grpc.SimulationServiceStub(channel)
    request = pb.SubmitJobRequest(
        model="pi", parameters=_PI_PARAMS, seed=1, request_id=uuid.uuid4().hex
    )
    return stub.SubmitJob(request, timeout=30, metadata=metadata)


@dataclass
class Load:
    calls: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


async def _client(target: str, token: str, call: Call, count: int, latencies: list[float]) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        for _ in range(count):
            started = time.perf_counter()
            await call(channel, metadata)
            latencies.append(time.perf_counter() - started)


async def _load(name: str, target: str, token: str, call: Call, total: int, clients: int) -> Load:
    # Warm the connections and the pools first; the measured run starts after.
    await asyncio.gather(*(_client(target, token, call, 5, []) for _ in range(clients)))
    latencies: list[float] = []
    each = total // clients
    with profile.phase(name, each * clients):
        started = time.perf_counter()
        await asyncio.gather(
            *(_client(target, token, call, each, latencies) for _ in range(clients))
        )
        seconds = time.perf_counter() - started
    return Load(len(latencies), seconds, latencies)


def measure(stack: Stack, total: int, clients: int) -> dict[str, Load]:
    """Health/Check, ListModels and SubmitJob, `total` calls each, one after the other."""
    target = stack.url.removeprefix("http://")
    stack.stop_service("runner")
    return {
        name: asyncio.run(_load(name, target, stack.token, call, total, clients))
        for name, call in (
            ("Health/Check", _health),
            ("ListModels", _list_models),
            ("SubmitJob", _submit),
        )
    }


def against_ceiling(
    prefix: str, clients: int, health: tuple[float, float], submit: tuple[float, float]
) -> list[Row]:
    """The issue's rows for one load generator: Health/Check (the framework's ceiling) and
    SubmitJob against it, each given as (calls/s, p99 ms)."""
    (health_rate, health_p99), (submit_rate, submit_p99) = health, submit
    return [
        Row(f"{prefix}Health/Check (framework only)", health_rate, "calls/s"),
        Row(
            f"{prefix}SubmitJob, {clients} clients",
            submit_rate,
            "submits/s",
            health_rate,
            f"{prefix}Health/Check",
            ">= 1,000/s and >= 50 %",
            submit_rate >= 1000 and submit_rate >= 0.5 * health_rate,
        ),
        Row(
            f"{prefix}SubmitJob p99, {clients} clients",
            submit_p99,
            "ms",
            health_p99,
            f"{prefix}Health/Check p99",
            "<= 50 ms",
            submit_p99 <= 50,
        ),
    ]


def run(stack: Stack, total: int, clients: int) -> list[Row]:
    loads = measure(stack, total, clients)
    for name, load in loads.items():
        print(f"{name:<13} {load.calls} calls in {load.seconds:.2f} s = {load.rate:,.0f}/s")
        print("  " + latency_line("latency", load.latencies))
    ceiling, submit = loads["Health/Check"], loads["SubmitJob"]
    rows = against_ceiling(
        "gateway ", clients, (ceiling.rate, ceiling.p(99)), (submit.rate, submit.p(99))
    )
    listing = Row(
        "ListModels (one job-store call)",
        loads["ListModels"].rate,
        "calls/s",
        ceiling.rate,
        "Health/Check",
    )
    return [rows[0], listing, *rows[1:]]
