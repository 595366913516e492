"""simlab.v1 job-store messages <-> the worker's domain values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf import struct_pb2

from simlab.core.stats import Stats
from simlab.jobstore.v1 import jobstore_pb2
from simlab.transport.stats import from_proto, to_proto
from simlab.transport.structs import struct_to_dict
from simlab.v1 import simulation_pb2
from simlab_worker.core.shard import Failure, JobSpec, ShardFinish, ShardStart


def job_spec(job: simulation_pb2.Job) -> JobSpec:
    return JobSpec(
        job_id=job.job_id,
        model=job.model,
        parameters=struct_to_dict(job.parameters),
        seed=job.seed,
        shards=job.shards,
        block_size=job.block_size,
        samples_total=job.progress.samples_total,
    )


def shard_start(response: jobstore_pb2.StartShardResponse) -> ShardStart:
    return ShardStart(job_spec(response.job), frozenset(response.done_blocks), response.stop)


def shard_finish(response: jobstore_pb2.FinishShardResponse) -> ShardFinish:
    return ShardFinish(response.finalize, [from_proto(block) for block in response.blocks])


def report_request(
    job_id: str, shard: int, blocks: Sequence[tuple[int, Stats]]
) -> jobstore_pb2.ReportBlocksRequest:
    return jobstore_pb2.ReportBlocksRequest(
        job_id=job_id, shard=shard, blocks=[to_proto(block, stats) for block, stats in blocks]
    )


def summary_struct(summary: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(summary)
    return struct


def job_error(failure: Failure) -> simulation_pb2.JobError:
    return simulation_pb2.JobError(
        message=failure.message, traceback=failure.traceback, source=failure.source
    )
