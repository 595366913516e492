"""Latency from a state change in the job store to a WatchJob client seeing it: the path
jobstore commit -> outbox relay -> JetStream -> gateway -> gRPC stream. A job is driven
by hand, as a worker would (one block per report), while a client watches it."""

from __future__ import annotations

import statistics
import threading
import time

import grpc

from bench.report import Row
from bench.stats import latency_line, percentile
from simlab.client import Client
from simlab.common.grpc_util import bearer
from simlab.common.tokens import WorkerClaims, worker_token
from simlab.devstack.stack import Stack
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.jobstore.v1 import jobstore_pb2_grpc
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import stats_pb2


def run(stack: Stack, changes: int) -> list[Row]:
    # With the runner away the job stays QUEUED, and this benchmark plays its worker.
    stack.stop_service("runner")
    try:
        latencies = _measure(stack, changes)
    finally:
        stack.start_service("runner")
    if len(latencies) < changes:
        raise RuntimeError(f"WatchJob saw {len(latencies)} of {changes} state changes")
    return [
        Row("state change -> WatchJob, p50", statistics.median(latencies) * 1000, "ms"),
        Row("state change -> WatchJob, p99", percentile(latencies, 99) * 1000, "ms"),
    ]


def shard_0_metadata(stack: Stack, job_id: str) -> tuple[tuple[str, str], ...]:
    """The call metadata of the job's shard 0 as its worker (valid an hour): the benchmarks
    that play a worker report with it."""
    shard_0 = WorkerClaims(job_id, shard=0, attempt=1, expires_at=int(time.time()) + 3600)
    return bearer(worker_token(stack.secrets["job_token_secret"], shard_0))


def _measure(stack: Stack, changes: int) -> list[float]:
    client = Client(stack.url, token=stack.token)
    block_size = 1_000_000  # the pi model's block
    job = client.submit("pi", {"samples": block_size * changes}, seed=1)
    store = jobstore_pb2_grpc.JobStoreServiceStub(grpc.insecure_channel(stack.jobstore_target))
    runner_md = bearer(stack.secrets["service_token"])
    worker_md = shard_0_metadata(stack, job.job_id)
    store.ReportState(
        store_pb.ReportStateRequest(job_id=job.job_id, state=pb.JOB_STATE_LAUNCHING),
        metadata=runner_md,
    )
    store.StartShard(store_pb.StartShardRequest(job_id=job.job_id, shard=0), metadata=worker_md)

    seen: dict[int, float] = {}
    ready = threading.Event()

    def watch() -> None:
        for event in client.watch(job.job_id):
            ready.set()
            if event.kind == pb.EVENT_KIND_PROGRESS:
                seen[event.job.progress.blocks_done] = time.perf_counter()
            if len(seen) == changes:
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ready.wait(10)
    sent: dict[int, float] = {}
    for block in range(changes):
        stats = stats_pb2.BlockStats(block=block, samples=block_size)
        stats.moments["estimate"].CopyFrom(stats_pb2.Moments(count=block_size, mean=3.14, m2=1.0))
        sent[block + 1] = time.perf_counter()
        store.ReportBlocks(
            store_pb.ReportBlocksRequest(job_id=job.job_id, shard=0, blocks=[stats]),
            metadata=worker_md,
        )
        time.sleep(0.01)  # one change at a time: latency, not queueing
    watcher.join(30)
    latencies = [seen[n] - sent[n] for n in sent if n in seen]
    print(f"events seen: {len(latencies)} of {changes}")
    print(latency_line("state change -> WatchJob", latencies))
    client.cancel(job.job_id)
    return latencies
