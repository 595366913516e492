"""simlab.v1 job-store messages <-> the worker's domain values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import struct_pb2

from simlab.core.stats import Stats
from simlab.jobstore.v1 import jobstore_pb2
from simlab.transport.precision import precision_from_proto, stop_from_proto
from simlab.transport.stats import from_proto, to_proto
from simlab.transport.structs import struct_to_dict
from simlab.v1 import simulation_pb2
from simlab_worker.core.ports import (
    Failure,
    JobSpec,
    ProgressReport,
    Reported,
    ShardFinish,
    ShardStart,
)

# PutArtifacts sends files in pieces of this size.
CHUNK_BYTES = 1024 * 1024


def job_spec(job: simulation_pb2.Job) -> JobSpec:
    return JobSpec(
        job_id=job.job_id,
        model=job.model,
        parameters=struct_to_dict(job.parameters),
        seed=job.seed,
        shards=job.shards,
        block_size=job.block_size,
        samples_total=job.progress.samples_total,
        kind="registration" if job.kind == simulation_pb2.JOB_KIND_REGISTRATION else "run",
        code_sha256=job.code_sha256,
        model_version=job.model_version,
        args=tuple(job.args),
        precision=precision_from_proto(job.precision) if job.HasField("precision") else None,
        stop=stop_from_proto(job.stop) if job.HasField("stop") else None,
    )


def shard_start(response: jobstore_pb2.StartShardResponse) -> ShardStart:
    return ShardStart(
        job_spec(response.job),
        frozenset(response.done_blocks),
        response.stop,
        response.stop_block,
    )


def reported(response: jobstore_pb2.ReportBlocksResponse) -> Reported:
    return Reported(response.stop, response.stop_block)


def shard_finish(response: jobstore_pb2.FinishShardResponse) -> ShardFinish:
    job = response.job
    return ShardFinish(
        response.finalize,
        [from_proto(block) for block in response.blocks],
        stop_from_proto(job.stop) if job.HasField("stop") else None,
    )


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
        message=failure.message,
        traceback=failure.traceback,
        source=failure.source,
        log_tail=failure.log_tail,
    )


def progress_request(
    job_id: str, shard: int, report: ProgressReport
) -> jobstore_pb2.ReportProgressRequest:
    return jobstore_pb2.ReportProgressRequest(
        job_id=job_id,
        shard=shard,
        done=report.done,
        total=report.total or 0.0,
        estimate=report.estimate,
        stderr=report.stderr,
    )


def artifact_requests(
    job_id: str, files: Mapping[str, bytes | Path], chunk_bytes: int = CHUNK_BYTES
) -> Iterator[jobstore_pb2.PutArtifactsRequest]:
    """The PutArtifacts stream: the job on the first message, each file starting with its name
    and continued in chunks (a file on disk is read as it goes)."""
    first = True
    for name, content in files.items():
        for index, data in enumerate(_chunks(content, chunk_bytes)):
            yield jobstore_pb2.PutArtifactsRequest(
                job_id=job_id if first else "", name=name if index == 0 else "", data=data
            )
            first = False


def _chunks(content: bytes | Path, chunk_bytes: int) -> Iterator[bytes]:
    if isinstance(content, bytes):
        yield content[:chunk_bytes]
        for offset in range(chunk_bytes, len(content), chunk_bytes):
            yield content[offset : offset + chunk_bytes]
        return
    with content.open("rb") as f:
        yield f.read(chunk_bytes)
        while data := f.read(chunk_bytes):
            yield data
