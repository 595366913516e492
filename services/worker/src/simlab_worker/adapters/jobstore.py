"""The job store over gRPC (simlab.jobstore.v1.JobStoreService), with the worker's token (as
`token()` gives it at each call: the runner renews it while the shard runs).

Two kinds of answer end a call. A refusal (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION,
PERMISSION_DENIED, ...: see simlab.transport.errors.REFUSALS) is the job store's verdict on
this job or this call: JobStoreRejected, and the worker exits 2. Any other status is about the
job store or the way to it: a pod being replaced by `helm upgrade` refuses connections, cancels
calls in flight, or loses its database for a moment, and may answer UNAVAILABLE, CANCELLED,
INTERNAL or UNKNOWN while doing so. Those calls are made again with a growing delay for up to
`retry_for_s` (the worker's calls are idempotent on the job store's side: a block is recorded
once, and PutArtifacts commits its set of files once, at the end of the stream, so a stream cut
short stores nothing and is sent again whole), then JobStoreUnavailable, and the worker
exits 3."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import grpc
import stamina

from simlab.common.grpc_util import MIB, bearer, channel
from simlab.core.stats import Stats
from simlab.jobstore.v1 import jobstore_pb2, jobstore_pb2_grpc
from simlab.transport.errors import call_name, is_refusal, retry_unless_refused
from simlab.v1 import simulation_pb2
from simlab_worker.core.ports import (
    Failure,
    JobStoreRejected,
    JobStoreUnavailable,
    ProgressReport,
    Reported,
    ShardFinish,
    ShardStart,
)
from simlab_worker.transport import jobs

log = logging.getLogger("worker")

T = TypeVar("T")

# FinishShard hands the finalizing shard every block its result merges.
MAX_RECEIVE_BYTES = 512 * MIB


class GrpcJobStore:
    def __init__(
        self,
        target: str,
        token: Callable[[], str],
        *,
        retry_for_s: float = 60.0,
        call_timeout_s: float = 60.0,
        # GetBundle and PutArtifacts move up to hundreds of MiB.
        transfer_timeout_s: float = 600.0,
        first_backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        # Spreads the retries of many workers after a job-store restart.
        jitter_s: float = 1.0,
    ) -> None:
        self.target = target
        self._channel = channel(target, MAX_RECEIVE_BYTES)
        self._stub = jobstore_pb2_grpc.JobStoreServiceStub(self._channel)
        self._token = token
        self._retry_for_s = retry_for_s
        self._call_timeout_s = call_timeout_s
        self._transfer_timeout_s = transfer_timeout_s
        self._first_backoff_s = first_backoff_s
        self._max_backoff_s = max_backoff_s
        self._jitter_s = jitter_s

    def close(self) -> None:
        self._channel.close()

    def start_shard(self, job_id: str, shard: int, runtime: str) -> ShardStart:
        request = jobstore_pb2.StartShardRequest(job_id=job_id, shard=shard, runtime=runtime)
        return jobs.shard_start(self._call(self._stub.StartShard, request))

    def report_blocks(
        self, job_id: str, shard: int, blocks: Sequence[tuple[int, Stats]]
    ) -> Reported:
        request = jobs.report_request(job_id, shard, blocks)
        return jobs.reported(self._call(self._stub.ReportBlocks, request))

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

    def get_bundle(self, job_id: str) -> bytes:
        request = jobstore_pb2.GetBundleRequest(job_id=job_id)

        def download() -> bytes:
            chunks = self._stub.GetBundle(
                request, metadata=self._metadata(), timeout=self._transfer_timeout_s
            )
            return b"".join(chunk.data for chunk in chunks)

        return self._retry("GetBundle", download)

    def put_artifacts(self, job_id: str, files: Mapping[str, bytes | Path]) -> list[str]:
        def upload() -> list[str]:
            response = self._stub.PutArtifacts(
                jobs.artifact_requests(job_id, files),
                metadata=self._metadata(),
                timeout=self._transfer_timeout_s,
            )
            return list(response.names)

        return self._retry("PutArtifacts", upload)

    def report_progress(self, job_id: str, shard: int, report: ProgressReport) -> bool:
        request = jobs.progress_request(job_id, shard, report)
        return bool(self._call(self._stub.ReportProgress, request).stop)

    def complete_registration(self, job_id: str, model: simulation_pb2.Model) -> None:
        request = jobstore_pb2.CompleteRegistrationRequest(job_id=job_id, model=model)
        self._call(self._stub.CompleteRegistration, request)

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return bearer(self._token())

    def _call(self, method: Callable[..., T], request: Any) -> T:
        return self._retry(
            call_name(request),
            lambda: method(request, metadata=self._metadata(), timeout=self._call_timeout_s),
        )

    def _retry(self, name: str, call: Callable[[], T]) -> T:
        """Makes the call, again while the job store is failing (not refusing)."""
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
                    return call()
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details()
            if is_refusal(exc):
                raise JobStoreRejected(f"{name}: {code.name}: {details}") from exc
            raise JobStoreUnavailable(
                f"{name}: job store at {self.target} failing for {self._retry_for_s:g} s: "
                f"{code.name}: {details}"
            ) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")
