"""The job store over gRPC (simlab.v1.JobStore), with the worker's job-scoped token.

Every call is retried with exponential backoff while the job store is UNAVAILABLE (restarting,
not yet listening) or does not answer in time: the worker's calls are idempotent on the job
store's side (blocks are recorded once per block), so a retry after a lost answer does no
harm. Any other status means retrying cannot help."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import grpc

from simlab.core.stats import Stats
from simlab.v1 import jobstore_pb2, jobstore_pb2_grpc
from simlab_worker.core.shard import (
    Failure,
    JobStoreRejected,
    JobStoreUnavailable,
    ShardFinish,
    ShardStart,
)
from simlab_worker.transport import jobs

log = logging.getLogger("worker")

T = TypeVar("T")

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})

CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    # FinishShard hands the finalizing shard every block of the job.
    ("grpc.max_receive_message_length", 512 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]


class GrpcJobStore:
    def __init__(
        self,
        target: str,
        token: str,
        *,
        retry_for_s: float = 60.0,
        call_timeout_s: float = 60.0,
        first_backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.target = target
        self._channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
        self._stub = jobstore_pb2_grpc.JobStoreStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._retry_for_s = retry_for_s
        self._call_timeout_s = call_timeout_s
        self._first_backoff_s = first_backoff_s
        self._max_backoff_s = max_backoff_s

    def close(self) -> None:
        self._channel.close()

    def start_shard(self, job_id: str, shard: int) -> ShardStart:
        request = jobstore_pb2.StartShardRequest(job_id=job_id, shard=shard)
        return jobs.shard_start(self._call(self._stub.StartShard, request))

    def report_blocks(self, job_id: str, shard: int, blocks: Sequence[tuple[int, Stats]]) -> bool:
        request = jobs.report_request(job_id, shard, blocks)
        return bool(self._call(self._stub.ReportBlocks, request).stop)

    def finish_shard(self, job_id: str, shard: int) -> ShardFinish:
        request = jobstore_pb2.FinishShardRequest(job_id=job_id, shard=shard)
        return jobs.shard_finish(self._call(self._stub.FinishShard, request))

    def complete_job(self, job_id: str, summary: dict[str, Any]) -> None:
        request = jobstore_pb2.CompleteJobRequest(
            job_id=job_id, summary=jobs.summary_struct(summary)
        )
        self._call(self._stub.CompleteJob, request)

    def fail_job(self, job_id: str, shard: int, failure: Failure) -> None:
        request = jobstore_pb2.FailJobRequest(
            job_id=job_id, shard=shard, error=jobs.job_error(failure)
        )
        self._call(self._stub.FailJob, request)

    def _call(self, method: Callable[..., T], request: Any) -> T:
        deadline = time.monotonic() + self._retry_for_s
        backoff = self._first_backoff_s
        while True:
            try:
                return method(request, metadata=self._metadata, timeout=self._call_timeout_s)
            except grpc.RpcError as exc:
                code, details = exc.code(), exc.details()
                name = type(request).__name__.removesuffix("Request")
                if code not in RETRYABLE:
                    raise JobStoreRejected(f"{name}: {code.name}: {details}") from exc
                if time.monotonic() + backoff > deadline:
                    raise JobStoreUnavailable(
                        f"{name}: job store at {self.target} unavailable for "
                        f"{self._retry_for_s:g} s: {code.name}: {details}"
                    ) from exc
                log.warning(
                    "job store unavailable, retrying",
                    extra={"call": name, "retry_in_s": backoff, "error": details},
                )
                time.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
