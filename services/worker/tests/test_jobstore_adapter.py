"""The gRPC job-store adapter and the worker process, against an in-process gRPC server that
plays the job store (the real one is exercised by the cross-service tests)."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from simlab.bundle import from_source
from simlab.core.precision import Precision, Stop, StopReason
from simlab.core.stats import Moments, Stats
from simlab.jobstore.v1 import jobstore_pb2, jobstore_pb2_grpc
from simlab.models import pi
from simlab.transport.stats import from_proto
from simlab.v1 import simulation_pb2, stats_pb2
from simlab_worker.adapters.jobstore import GrpcJobStore
from simlab_worker.core.ports import (
    Failure,
    JobStoreRejected,
    JobStoreUnavailable,
    ProgressReport,
    Reported,
)
from simlab_worker.core.shard import Exit

TOKEN = "job.j-1.secret"
# The built-in pi model as the gateway registers it: its module's source as the entry.
PI_BUNDLE = from_source(Path(pi.__file__).read_text(), "pi.py")
CHUNK = 1024 * 1024


class PlayedJobStore(jobstore_pb2_grpc.JobStoreServiceServicer):
    """One job, one shard by default; records what the worker sends."""

    def __init__(self, parameters: dict, model: str = "pi", shards: int = 1) -> None:
        struct = struct_pb2.Struct()
        struct.update(parameters)
        self.job = simulation_pb2.Job(
            job_id="j-1",
            model=model,
            parameters=struct,
            seed=7,
            shards=shards,
            code_sha256=PI_BUNDLE.sha256,
            model_version=1,
            kind=simulation_pb2.JOB_KIND_RUN,
        )
        self.archive = PI_BUNDLE.archive()
        # Statuses the next calls are answered with, first to last, before answering normally.
        self.failures: list[grpc.StatusCode] = []
        self.tokens: list[str] = []
        self.blocks: dict[int, stats_pb2.BlockStats] = {}
        self.completed: dict | None = None
        self.error: simulation_pb2.JobError | None = None
        self.runtime = ""
        self.artifacts: dict[str, bytes] = {}
        # Messages of the PutArtifacts streams, one list per call.
        self.uploads: list[list[jobstore_pb2.PutArtifactsRequest]] = []
        self.progress: list[jobstore_pb2.ReportProgressRequest] = []
        self.registered: simulation_pb2.Model | None = None
        # What StartShard and ReportBlocks say about the blocks needed (0: all).
        self.stop_block = 0
        self.target = ""  # host:port, once the played server listens

    def _check(self, context: grpc.ServicerContext) -> None:
        self.tokens.append(dict(context.invocation_metadata()).get("authorization", ""))
        if self.failures:
            code = self.failures.pop(0)
            context.abort(code, f"played {code.name}")

    def StartShard(self, request, context):
        self._check(context)
        self.runtime = request.runtime
        return jobstore_pb2.StartShardResponse(
            job=self.job, done_blocks=[], stop_block=self.stop_block
        )

    def ReportBlocks(self, request, context):
        self._check(context)
        for block in request.blocks:
            self.blocks[block.block] = block
        return jobstore_pb2.ReportBlocksResponse(stop=False, stop_block=self.stop_block)

    def FinishShard(self, request, context):
        self._check(context)
        ordered = [self.blocks[b] for b in sorted(self.blocks)]
        return jobstore_pb2.FinishShardResponse(finalize=True, blocks=ordered, job=self.job)

    def CompleteJob(self, request, context):
        self._check(context)
        self.completed = json_format.MessageToDict(request.summary)
        return self.job

    def FailJob(self, request, context):
        self._check(context)
        self.error = request.error
        return self.job

    def GetBundle(self, request, context):
        self._check(context)
        sha256 = hashlib.sha256(self.archive).hexdigest()
        for offset in range(0, len(self.archive), CHUNK):
            yield jobstore_pb2.BundleChunk(
                sha256=sha256 if offset == 0 else "", data=self.archive[offset : offset + CHUNK]
            )

    def PutArtifacts(self, request_iterator, context):
        messages = list(request_iterator)
        self.uploads.append(messages)
        self._check(context)
        files: dict[str, bytes] = {}
        name = ""
        for message in messages:
            name = message.name or name
            files[name] = files.get(name, b"") + message.data
        self.artifacts = files
        return jobstore_pb2.PutArtifactsResponse(names=list(files))

    def ReportProgress(self, request, context):
        self._check(context)
        self.progress.append(request)
        return jobstore_pb2.ReportProgressResponse(stop=request.done >= 10)

    def CompleteRegistration(self, request, context):
        self._check(context)
        self.registered = request.model
        return self.job


@pytest.fixture
def played():
    servicer = PlayedJobStore({"samples": 3_000_000.0})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    jobstore_pb2_grpc.add_JobStoreServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servicer.target = f"127.0.0.1:{port}"
    yield servicer
    server.stop(grace=None)


def client(target: str, **kwargs) -> GrpcJobStore:
    return GrpcJobStore(target, lambda: TOKEN, first_backoff_s=0.01, jitter_s=0.01, **kwargs)


def test_calls_carry_the_token_and_convert_both_ways(played):
    jobstore = client(played.target)
    start = jobstore.start_shard("j-1", 0, "local (Python 3.11.9)")
    assert played.runtime == "local (Python 3.11.9)"
    assert start.job.parameters == {"samples": 3_000_000.0}
    assert (start.job.model, start.job.seed, start.job.shards) == ("pi", 7, 1)
    assert (start.job.kind, start.job.code_sha256, start.job.model_version) == (
        "run",
        PI_BUNDLE.sha256,
        1,
    )

    stats = Stats(10, {"estimate": Moments.of([4.0, 0.0, 4.0])}, counts={"inside": 2})
    assert jobstore.report_blocks("j-1", 0, [(3, stats)]) == Reported(stop=False, stop_block=0)
    assert from_proto(played.blocks[3]) == (3, stats)

    finish = jobstore.finish_shard("j-1", 0)
    assert finish.finalize and list(finish.blocks) == [(3, stats)]

    jobstore.complete_job("j-1", {"estimate": 3.1, "best_x": [1.0, 2.0], "stderr": None})
    assert played.completed == {"estimate": 3.1, "best_x": [1.0, 2.0], "stderr": None}
    jobstore.fail_job("j-1", 0, Failure("ValueError: no", "Traceback ...", "model"))
    assert (played.error.message, played.error.source) == ("ValueError: no", "model")
    assert jobstore.get_bundle("j-1") == PI_BUNDLE.archive()
    assert jobstore.report_progress("j-1", 0, ProgressReport(done=3, estimate=1.5)) is False
    assert jobstore.report_progress("j-1", 0, ProgressReport(done=10, total=10)) is True
    first, last = played.progress
    assert (first.done, first.total, first.estimate, first.HasField("stderr")) == (3, 0, 1.5, False)
    assert (last.total, last.HasField("estimate")) == (10, False)
    jobstore.complete_registration("j-1", simulation_pb2.Model(title="Pi", runtime="local"))
    assert played.registered is not None and played.registered.title == "Pi"
    assert set(played.tokens) == {f"Bearer {TOKEN}"}
    jobstore.close()


def test_a_job_carries_what_a_script_or_a_registration_needs(played):
    played.job.kind = simulation_pb2.JOB_KIND_REGISTRATION
    played.job.args.extend(["--steps", "12"])
    job = client(played.target).start_shard("j-1", 0, "local").job
    assert (job.kind, job.args) == ("registration", ("--steps", "12"))


def test_a_precision_target_and_its_stop_reach_the_shard(played):
    played.job.precision.CopyFrom(simulation_pb2.Precision(rel_tol=0.01, min_blocks=4))
    assert client(played.target).start_shard("j-1", 0, "local").job.stop is None
    played.job.stop.CopyFrom(
        simulation_pb2.StopInfo(
            reason=simulation_pb2.STOP_REASON_PRECISION_REACHED, first_block=0, end_block=5
        )
    )
    played.stop_block = 5
    jobstore = client(played.target)
    start = jobstore.start_shard("j-1", 0, "local")
    assert start.job.precision == Precision(rel_tol=0.01, confidence=0.95, min_blocks=4)
    assert start.stop_block == 5
    stats = Stats(10, {"estimate": Moments.of([4.0, 0.0])})
    assert jobstore.report_blocks("j-1", 0, [(0, stats)]) == Reported(stop=False, stop_block=5)
    stop = Stop(StopReason.PRECISION_REACHED, 0, 5)
    assert start.job.stop == stop
    assert jobstore.finish_shard("j-1", 0).stop == stop


def test_a_big_bundle_comes_in_chunks(played):
    played.archive = os.urandom(2 * CHUNK + 5)
    assert client(played.target).get_bundle("j-1") == played.archive


def test_artifacts_stream_in_chunks_the_job_first_and_each_file_from_its_name(played, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2 * CHUNK + 1))
    files = {"summary.json": b"{}", "empty.txt": b"", "plots/big.bin": big}
    names = client(played.target).put_artifacts("j-1", files)
    assert names == ["summary.json", "empty.txt", "plots/big.bin"]
    assert played.artifacts == {
        "summary.json": b"{}",
        "empty.txt": b"",
        "plots/big.bin": big.read_bytes(),
    }
    [messages] = played.uploads
    assert [m.job_id for m in messages] == ["j-1"] + [""] * (len(messages) - 1)
    assert [m.name for m in messages] == ["summary.json", "empty.txt", "plots/big.bin", "", ""]
    assert max(len(m.data) for m in messages) == CHUNK


def test_an_interrupted_upload_is_sent_again_whole(played, tmp_path):
    played.failures = [grpc.StatusCode.UNAVAILABLE]
    files = {"a.txt": b"a" * (CHUNK + 1)}
    assert client(played.target).put_artifacts("j-1", files) == ["a.txt"]
    assert len(played.uploads) == 2
    assert played.artifacts == files


def test_a_job_store_going_away_is_retried_whatever_it_answers(played):
    """What a job store pod being replaced answers: refused connections, calls cancelled at
    the end of its grace, errors from a closing database pool."""
    played.failures = [
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    ]
    assert client(played.target).start_shard("j-1", 0, "local").job.model == "pi"
    assert len(played.tokens) == 8


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAUTHENTICATED,
    ],
)
def test_a_refusal_of_this_job_is_not_retried(played, code):
    played.failures = [code]
    with pytest.raises(JobStoreRejected, match=code.name):
        client(played.target).start_shard("j-1", 0, "local")
    assert len(played.tokens) == 1


def test_a_job_store_failing_past_the_retry_window_is_unavailable_naming_the_status(played):
    played.failures = [grpc.StatusCode.INTERNAL] * 1000
    with pytest.raises(JobStoreUnavailable, match="INTERNAL: played INTERNAL"):
        client(played.target, retry_for_s=0.3).start_shard("j-1", 0, "")
    assert len(played.tokens) > 1


def test_an_absent_job_store_is_unavailable_after_the_retries():
    started = time.monotonic()
    with pytest.raises(JobStoreUnavailable):
        client("127.0.0.1:9", retry_for_s=0.3, call_timeout_s=0.2).start_shard("j-1", 0, "")
    assert time.monotonic() - started < 5


def worker(target: str, tmp_path: Path, **env) -> subprocess.Popen:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    environ = {
        **os.environ,
        "SIMLAB_WORKER_JOB_ID": "j-1",
        "SIMLAB_WORKER_SHARD": "0",
        "SIMLAB_WORKER_JOBSTORE": target,
        "SIMLAB_WORKER_TOKEN": TOKEN,
        "SIMLAB_WORKER_RETRY_S": "0.5",
        "SIMLAB_WORKER_RUNTIME": "test-image",
        # Where the worker's private directory goes: the tests check it is removed.
        "TMPDIR": str(tmp_path / "tmp"),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "simlab_worker"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_worker_process_runs_a_job_to_completion(played, tmp_path):
    process = worker(played.target, tmp_path)
    out, err = process.communicate(timeout=60)
    assert process.returncode == Exit.OK, err
    assert played.completed is not None
    assert abs(played.completed["estimate"] - 3.14159) < 4 * played.completed["stderr"]
    assert {"summary.json", "plot.png", "chart.json"} <= played.artifacts.keys()
    assert played.runtime.startswith("test-image (Python 3.")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert "complete" in out
    assert '"level": "info"' in err  # JSON log lines on stderr


def test_the_worker_process_reports_invalid_parameters_and_exits_2(played, tmp_path):
    played.job.parameters.update({"samples": 0})
    process = worker(played.target, tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == Exit.INVALID_JOB, err
    assert played.error.source == "worker"
    assert "parameters.samples" in played.error.message


def test_the_worker_process_exits_3_without_a_job_store(tmp_path):
    process = worker("127.0.0.1:9", tmp_path)
    process.communicate(timeout=60)
    assert process.returncode == Exit.JOBSTORE_UNAVAILABLE


def test_the_worker_process_exits_2_when_misconfigured(tmp_path):
    process = worker("127.0.0.1:9", tmp_path, SIMLAB_WORKER_JOB_ID="")
    _, err = process.communicate(timeout=60)
    assert process.returncode == Exit.INVALID_JOB
    assert "SIMLAB_WORKER_JOB_ID" in err


def test_the_worker_process_registers_code(played, tmp_path):
    played.job.kind = simulation_pb2.JOB_KIND_REGISTRATION
    process = worker(played.target, tmp_path)
    _, err = process.communicate(timeout=120)
    assert process.returncode == Exit.OK, err
    assert played.registered is not None
    assert played.registered.runtime == played.runtime
    assert played.registered.kind == simulation_pb2.MODEL_KIND_BLOCKS
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_worker_process_refuses_code_that_is_not_the_jobs(played, tmp_path):
    played.archive = from_source("# not pi\n", "pi.py").archive()
    process = worker(played.target, tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == Exit.INVALID_JOB, err
    assert played.error is not None and played.error.source == "worker"


def test_sigterm_stops_the_worker_process_cleanly(played, tmp_path):
    played.job.parameters.update({"samples": 5e10})  # far more than the test waits for
    process = worker(played.target, tmp_path)
    deadline = time.monotonic() + 30
    while not played.blocks and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == Exit.OK, err
    assert played.blocks
    assert played.completed is None
