"""The job store over gRPC (simlab.jobstore.v1.JobStoreService), with the worker's job-scoped token.

Two kinds of answer end a call. A refusal (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION,
PERMISSION_DENIED, ...: see simlab.transport.errors.REFUSALS) is the job store's verdict on
this job or this call: JobStoreRejected, and the worker exits 2. Any other status is about the
job store or the way to it: a pod being replaced by `helm upgrade` refuses connections, cancels
calls in flight, or loses its database for a moment, and may answer UNAVAILABLE, CANCELLED,
INTERNAL or UNKNOWN while doing so. Those calls are made again with a growing delay for up to
`retry_for_s` (the worker's calls are idempotent on the job store's side: a block is recorded
once), then JobStoreUnavailable, and the worker exits 3."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import grpc
import stamina

from simlab.common.grpc_util import MIB, bearer, channel
from simlab.core.stats import Stats
from simlab.jobstore.v1 import jobstore_pb2, jobstore_pb2_grpc
from simlab.transport.errors import call_name, is_refusal, retry_unless_refused
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

# FinishShard hands the finalizing shard every block of the job.
MAX_RECEIVE_BYTES = 512 * MIB


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
        # Spreads the retries of many workers after a job-store restart.
        jitter_s: float = 1.0,
    ) -> None:
        self.target = target
        self._channel = channel(target, MAX_RECEIVE_BYTES)
        self._stub = jobstore_pb2_grpc.JobStoreServiceStub(self._channel)
        self._metadata = bearer(token)
        self._retry_for_s = retry_for_s
        self._call_timeout_s = call_timeout_s
        self._first_backoff_s = first_backoff_s
        self._max_backoff_s = max_backoff_s
        self._jitter_s = jitter_s

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
        name = call_name(request)
        try:
            for attempt in stamina.retry_context(
                on=retry_unless_refused(log, name),
                attempts=None,
                timeout=self._retry_for_s,
                wait_initial=self._first_backoff_s,
                wait_max=self._max_backoff_s,
                wait_jitter=self._jitter_s,
            ):
                with attempt:
                    return method(request, metadata=self._metadata, timeout=self._call_timeout_s)
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details()
            if is_refusal(exc):
                raise JobStoreRejected(f"{name}: {code.name}: {details}") from exc
            raise JobStoreUnavailable(
                f"{name}: job store at {self.target} failing for {self._retry_for_s:g} s: "
                f"{code.name}: {details}"
            ) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")
