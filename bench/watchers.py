"""Many watchers of one job: N WatchJob streams spread over C gRPC connections (C = 1: the
way a service watching its jobs over one channel does it), then state changes driven by hand
in the job store, one at a time. Prints how many watchers got their first event and how
long after each change every watcher saw it (p50/p99 over all watchers and changes).
`make bench` runs it; alone: python -m bench.watchers --watchers 1000,2000 --connections 1,50"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from bench.events import shard_0_metadata
from bench.load import cpu_seconds
from bench.report import Row
from bench.stats import latency_line, percentile
from simlab.client import Client
from simlab.common.grpc_util import bearer
from simlab.devstack.stack import Stack, free_port, wait_serving
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.jobstore.v1 import jobstore_pb2_grpc
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import simulation_pb2_grpc, stats_pb2

BLOCK_SIZE = 1_000_000  # the pi model's block


@dataclass
class Outcome:
    watchers: int
    connections: int
    first_events: int
    first_events_s: float
    # blocks_done -> when each watcher saw it
    seen: dict[int, list[float]] = field(default_factory=dict)
    sent: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # Each part of the stack's CPU milliseconds per change, over the changes (not the start).
    cpu_ms_per_change: dict[str, float] = field(default_factory=dict)

    def latencies(self) -> list[float]:
        return [t - self.sent[n] for n, times in self.seen.items() for t in times]

    def delivered(self) -> int:
        return sum(len(times) for times in self.seen.values())

    def complete(self) -> bool:
        """Every watcher started and saw every change."""
        return (
            not self.errors
            and self.first_events == self.watchers
            and self.delivered() == self.watchers * len(self.sent)
        )

    def p99_ms(self) -> float:
        latencies = self.latencies()
        return percentile(latencies, 99) * 1000 if latencies else float("nan")

    def lines(self) -> list[str]:
        delivered = self.delivered()
        lines = [
            f"{self.watchers} watchers on {self.connections} connection(s): "
            f"{self.first_events} got their first event in {self.first_events_s:.2f} s; "
            f"{delivered} of {self.first_events * len(self.sent)} changes delivered"
        ]
        if self.errors:
            lines.append(f"errors: {len(self.errors)}, e.g. {self.errors[0]}")
        if delivered:
            lines.append(latency_line("state change -> every watcher", self.latencies()))
        if self.cpu_ms_per_change:
            parts = ", ".join(f"{name} {ms:.1f}" for name, ms in self.cpu_ms_per_change.items())
            lines.append(f"CPU ms per change: {parts}")
        return lines


def run(
    stack: Stack, watchers: int | list[int], changes: int, connections: tuple[int, ...] = (1, 50)
) -> list[Row]:
    """Each count of watchers over each count of connections, after the ceiling: 10 watchers
    on one connection, the same path with no crowd."""
    # With the runner away each job stays QUEUED, and this benchmark plays its worker.
    stack.stop_service("runner")
    rows: list[Row] = []
    try:
        ceiling = _measure_once(stack, 10, 1, changes)
        for count in [watchers] if isinstance(watchers, int) else watchers:
            for connection_count in connections:
                outcome = _measure_once(stack, count, connection_count, changes)
                p99 = outcome.p99_ms()
                rows.append(
                    Row(
                        f"WatchJob p99, {count} watchers on {connection_count} connection(s)",
                        p99,
                        "ms",
                        ceiling.p99_ms(),
                        "10 watchers",
                        "<= 50 ms, every change delivered",
                        p99 <= 50 and outcome.complete(),
                    )
                )
    finally:
        stack.start_service("runner")
    return rows


def _measure_once(stack: Stack, watchers: int, connections: int, changes: int) -> Outcome:
    outcome = asyncio.run(measure(stack, watchers, connections, changes, stack.token))
    print("\n".join(outcome.lines()), flush=True)
    # The gateway closes the last run's streams before it answers the next.
    wait_serving(stack.url.removeprefix("http://"), timeout=300)
    return outcome


async def measure(
    stack: Stack,
    watchers: int,
    connections: int,
    changes: int,
    token: str | None,
    first_event_timeout_s: float = 60.0,
    change_timeout_s: float = 30.0,
) -> Outcome:
    """Needs the runner stopped (the caller plays the job's worker). Watchers refused at the
    start (a stream limit) are counted in `errors`; the changes are timed for the others."""
    with Client(stack.url, token=token) as client:
        job = client.submit("pi", {"samples": BLOCK_SIZE * changes}, seed=1)
    worker_md = shard_0_metadata(stack, job.job_id)
    store_channel = grpc.aio.insecure_channel(stack.jobstore_target)
    store = jobstore_pb2_grpc.JobStoreServiceStub(store_channel)
    await store.ReportState(
        store_pb.ReportStateRequest(job_id=job.job_id, state=pb.JOB_STATE_LAUNCHING),
        metadata=bearer(stack.secrets["service_token"]),
    )
    await store.StartShard(
        store_pb.StartShardRequest(job_id=job.job_id, shard=0), metadata=worker_md
    )

    target = stack.url.removeprefix("http://")
    # A local subchannel pool each: separate TCP connections, not one shared by equal channels.
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(connections)
    ]
    metadata = bearer(token) if token else ()
    outcome = Outcome(watchers, connections, 0, 0.0)
    # Released once per watcher, on its first event or on its failure.
    started_or_failed = asyncio.Semaphore(0)
    progressed: dict[int, asyncio.Event] = {n: asyncio.Event() for n in range(1, changes + 1)}

    async def watch(index: int) -> None:
        stub = simulation_pb2_grpc.SimulationServiceStub(channels[index % connections])
        got_first = False
        try:
            async for event in stub.WatchJob(
                pb.WatchJobRequest(job_id=job.job_id), metadata=metadata
            ):
                now = time.perf_counter()
                if not got_first:
                    got_first = True
                    outcome.first_events += 1
                    started_or_failed.release()
                if event.kind == pb.EVENT_KIND_PROGRESS:
                    done = event.job.progress.blocks_done
                    times = outcome.seen.setdefault(done, [])
                    times.append(now)
                    if len(times) == outcome.first_events:
                        progressed[done].set()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                outcome.errors.append(f"{error.code().name}: {error.details()}")
                if not got_first:
                    started_or_failed.release()

    started = time.perf_counter()
    tasks = [asyncio.create_task(watch(i)) for i in range(watchers)]
    try:
        deadline = started + first_event_timeout_s
        for _ in range(watchers):
            try:
                await asyncio.wait_for(started_or_failed.acquire(), deadline - time.perf_counter())
            except TimeoutError:
                break
        outcome.first_events_s = time.perf_counter() - started
        if outcome.first_events + len(outcome.errors) == watchers:
            cpu_before = cpu_seconds(stack)
            for block in range(changes):
                stats = stats_pb2.BlockStats(block=block, samples=BLOCK_SIZE)
                stats.moments["estimate"].CopyFrom(
                    stats_pb2.Moments(count=BLOCK_SIZE, mean=3.14, m2=1.0)
                )
                outcome.sent[block + 1] = time.perf_counter()
                await store.ReportBlocks(
                    store_pb.ReportBlocksRequest(job_id=job.job_id, shard=0, blocks=[stats]),
                    metadata=worker_md,
                )
                # One change at a time: the fan-out's latency, not a queue of changes.
                try:
                    await asyncio.wait_for(progressed[block + 1].wait(), change_timeout_s)
                except TimeoutError:
                    break
            cpu_after = cpu_seconds(stack)
            outcome.cpu_ms_per_change = {
                name: (cpu_after[name] - cpu_before[name]) * 1000 / len(outcome.sent)
                for name in ("gateway", "jobstore", "nats-server", "postgresql", "bench")
            }
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            await channel.close()
        await store_channel.close()
        with Client(stack.url, token=token) as client:
            client.cancel(job.job_id)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.watchers", description=__doc__)
    parser.add_argument("--watchers", default="1000", help="comma-separated stream counts")
    parser.add_argument("--connections", default="1,50", help="comma-separated")
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="simlab-bench-") as tmp:
        stack = Stack(Path(tmp) / "state", free_port(), log_dir=Path(tmp) / "logs")
        # A loaded machine starts Python services slowly.
        stack.start(timeout=300)
        try:
            run(
                stack,
                [int(n) for n in args.watchers.split(",")],
                args.changes,
                tuple(int(n) for n in args.connections.split(",")),
            )
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
