"""The job store running for real against the root conftest's PostgreSQL and NATS: in-process
(its own event loop in a thread, so tests use a plain blocking grpcio client) or as a
`python -m simlab_jobstore` subprocess where a test must kill it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import grpc
import nats
import pytest
from google.protobuf import struct_pb2
from nats.js.api import AckPolicy, ConsumerConfig

from simlab.common import events
from simlab.common.grpc_util import bearer, channel
from simlab.common.tokens import WorkerClaims
from simlab.common.tokens import worker_token as signed_worker_token
from simlab.devstack.servers import Nats
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.jobstore.v1 import jobstore_pb2_grpc
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import stats_pb2
from simlab_jobstore.app import App
from simlab_jobstore.settings import Settings

SERVICE_TOKEN = "service-token-for-tests"
JOB_TOKEN_SECRET = "job-secret-for-tests"
T = TypeVar("T")


def settings_env(pg_uri: str, nats_url: str, objects_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "SIMLAB_JOBSTORE_DATABASE_URL": pg_uri,
        "SIMLAB_JOBSTORE_NATS_URL": nats_url,
        "SIMLAB_JOBSTORE_LISTEN": "127.0.0.1:0",
        "SIMLAB_JOBSTORE_SERVICE_TOKEN": SERVICE_TOKEN,
        "SIMLAB_JOBSTORE_JOB_TOKEN_SECRET": JOB_TOKEN_SECRET,
        "SIMLAB_JOBSTORE_POOL_SIZE": "4",
        "SIMLAB_JOBSTORE_OBJECTS_DIR": str(objects_dir),
        **{f"SIMLAB_JOBSTORE_{name}": value for name, value in extra.items()},
    }


def mint(job_id: str, shard: int = 0, attempt: int = 1, expires_in_s: float = 3600) -> str:
    """A worker token as the runner mints it, for that shard's launch `attempt`."""
    expires_at = int(time.time() + expires_in_s)
    return signed_worker_token(JOB_TOKEN_SECRET, WorkerClaims(job_id, shard, attempt, expires_at))


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@dataclass
class Client:
    """A blocking grpcio client of one job store, calling with the service token by default."""

    address: str
    channel: grpc.Channel = field(init=False)
    stub: jobstore_pb2_grpc.JobStoreServiceStub = field(init=False)

    def __post_init__(self) -> None:
        # As the platform's services call (answers up to 64 MiB): 10,000 points of a study with
        # many parameters pass gRPC's default 4 MiB.
        self.channel = channel(self.address)
        self.stub = jobstore_pb2_grpc.JobStoreServiceStub(self.channel)

    def call(self, method: str, request: Any, token: str | None = SERVICE_TOKEN) -> Any:
        metadata = bearer(token) if token is not None else ()
        return getattr(self.stub, method)(request, metadata=metadata, timeout=10)

    def worker_call(self, method: str, request: Any) -> Any:
        return self.call(method, request, mint(request.job_id, getattr(request, "shard", 0)))

    def create(self, owner: str = "ana", **fields: Any) -> pb.Job:
        return self.create_response(owner, **fields).job

    def create_response(self, owner: str = "ana", **fields: Any) -> store_pb.CreateJobResponse:
        parameters = struct_pb2.Struct()
        parameters.update(fields.pop("parameters", {"samples": 1000}))
        request = store_pb.CreateJobRequest(
            owner=owner,
            model=fields.pop("model", "pi"),
            parameters=parameters,
            shards=fields.pop("shards", 2),
            primary_output=fields.pop("primary_output", "estimate"),
            block_size=fields.pop("block_size", 250),
            samples_total=fields.pop("samples_total", 1000),
            **fields,
        )
        return self.call("CreateJob", request)

    def get(self, job_id: str, owner: str = "") -> pb.Job:
        return self.call("GetJob", store_pb.GetJobRequest(owner=owner, job_id=job_id))

    def report_state(self, job_id: str, state: pb.JobState, **fields: Any) -> pb.Job:
        return self.call(
            "ReportState", store_pb.ReportStateRequest(job_id=job_id, state=state, **fields)
        )

    def start_shard(
        self, job_id: str, shard: int, runtime: str = ""
    ) -> store_pb.StartShardResponse:
        return self.worker_call(
            "StartShard", store_pb.StartShardRequest(job_id=job_id, shard=shard, runtime=runtime)
        )

    def report_blocks(
        self, job_id: str, shard: int, blocks: dict[int, list[float]]
    ) -> store_pb.ReportBlocksResponse:
        request = store_pb.ReportBlocksRequest(
            job_id=job_id,
            shard=shard,
            blocks=[block_stats(index, samples) for index, samples in blocks.items()],
        )
        return self.worker_call("ReportBlocks", request)

    def finish_shard(self, job_id: str, shard: int) -> store_pb.FinishShardResponse:
        return self.worker_call(
            "FinishShard", store_pb.FinishShardRequest(job_id=job_id, shard=shard)
        )

    def complete(self, job_id: str, summary: dict[str, Any]) -> pb.Job:
        message = struct_pb2.Struct()
        message.update(summary)
        return self.worker_call(
            "CompleteJob", store_pb.CompleteJobRequest(job_id=job_id, summary=message)
        )

    def fail(self, job_id: str, shard: int, **error: str) -> pb.Job:
        request = store_pb.FailJobRequest(job_id=job_id, shard=shard, error=pb.JobError(**error))
        return self.worker_call("FailJob", request)

    # ---- the model registry -----------------------------------------------------------------

    def begin_registration(
        self, owner: str, name: str, code_sha256: str, **fields: Any
    ) -> store_pb.BeginRegistrationResponse:
        request = store_pb.BeginRegistrationRequest(
            owner=owner,
            name=name,
            code_sha256=code_sha256,
            code_size=fields.pop("code_size", 10240),
            entry=fields.pop("entry", "model.py"),
            files=fields.pop("files", ["model.py", "helpers.py"]),
            **fields,
        )
        return self.call("BeginRegistration", request)

    def complete_registration(self, job_id: str, model: pb.Model | None = None) -> pb.Job:
        request = store_pb.CompleteRegistrationRequest(
            job_id=job_id, model=model if model is not None else inspected()
        )
        return self.worker_call("CompleteRegistration", request)

    def register(
        self, owner: str, name: str, code_sha256: str, model: pb.Model | None = None, **fields: Any
    ) -> pb.Model:
        """Pushes code and runs its registration job as a worker would: the version made (or
        the latest one, when the code is unchanged)."""
        begun = self.begin_registration(owner, name, code_sha256, **fields)
        if begun.HasField("existing"):
            return begun.existing
        self.start_shard(begun.job.job_id, 0)
        done = self.complete_registration(begun.job.job_id, model)
        return self.get_model("", name, registered_version(done))

    def get_model(self, owner: str, name: str, version: int = 0) -> pb.Model:
        request = store_pb.GetModelRequest(owner=owner, name=name, version=version)
        return self.call("GetModel", request)

    def close(self) -> None:
        self.channel.close()


class InProcessJobStore:
    def __init__(self, settings: Settings) -> None:
        self.app = App(settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self.app.start())
        self.client = Client(self.app.address)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.client.close()
        self.run(self.app.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def objects_dir(tmp_path: Path) -> Path:
    """The job store's object store: a local directory."""
    return tmp_path / "objects"


@pytest.fixture
def jobstore_env(
    pg_uri: str, nats_server: Nats, objects_dir: Path
) -> Callable[..., dict[str, str]]:
    """jobstore_env(FAULT=...): the SIMLAB_JOBSTORE_* variables for this test's servers."""
    return lambda **extra: settings_env(pg_uri, nats_server.url, objects_dir, **extra)


@pytest.fixture
def jobstore(jobstore_env: Callable[..., dict[str, str]]) -> Iterator[InProcessJobStore]:
    store = InProcessJobStore(Settings.from_env(jobstore_env()))
    yield store
    store.stop()


@pytest.fixture
def client(jobstore: InProcessJobStore) -> Client:
    return jobstore.client


@pytest.fixture
def worker_token() -> Callable[..., str]:
    """The token a worker of the given job holds: mint(job_id, shard=0, attempt=1)."""
    return mint


class JobStoreProcess:
    """`python -m simlab_jobstore` with its JSON log lines read from stderr."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.log: IO[str] = log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simlab_jobstore"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(30):
            self.kill()
            raise RuntimeError(f"jobstore did not start; see {log_path}")
        address = next(line["address"] for line in self.lines if line["msg"] == "jobstore ready")
        self.client = Client(address)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.log.write(raw)
            self.log.flush()
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            self.lines.append(line)
            if line.get("msg") == "jobstore ready":
                self.ready.set()

    def wait(self, timeout: float = 20) -> int:
        code = self.process.wait(timeout)
        self.reader.join(5)
        return code

    def terminate(self) -> int:
        self.client.close()
        self.process.send_signal(signal.SIGTERM)
        return self.wait()

    def kill(self) -> None:
        self.process.kill()
        self.wait()


@pytest.fixture
def start_process(tmp_path: Path) -> Iterator[Callable[..., JobStoreProcess]]:
    started: list[JobStoreProcess] = []

    def start(env: dict[str, str]) -> JobStoreProcess:
        process = JobStoreProcess(env, tmp_path / "jobstore.log")
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.kill()


# ---- reading the events back from JetStream --------------------------------------------------


@dataclass(frozen=True)
class StoredEvent:
    subject: str
    msg_id: str | None
    event: pb.JobEvent


@dataclass(frozen=True)
class StoredMessage:
    subject: str
    msg_id: str | None
    data: bytes


async def _stored_messages(nats_url: str, subjects: str) -> list[StoredMessage]:
    """Every message on these subjects that the stream holds, in stream order."""
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        # Nothing acknowledged: a consumer that expects acks stops at 1,000 in flight.
        subscription = await js.pull_subscribe(
            subjects, stream=events.STREAM, config=ConsumerConfig(ack_policy=AckPolicy.NONE)
        )
        found: list[StoredMessage] = []
        while True:
            try:
                messages = await subscription.fetch(500, timeout=0.2)
            except TimeoutError:
                return found
            for message in messages:
                headers = message.headers or {}
                found.append(
                    StoredMessage(message.subject, headers.get("Nats-Msg-Id"), message.data)
                )
    finally:
        await client.close()


class EventReader:
    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url

    def of(self, job_id: str, at_least: int = 1, timeout: float = 10) -> list[StoredEvent]:
        """The job's events in the stream, once there are `at_least` (the relay is
        asynchronous): a test then checks that there are no more than it expects."""
        return [
            StoredEvent(message.subject, message.msg_id, pb.JobEvent.FromString(message.data))
            for message in self.on(events.job_subjects(job_id), at_least, timeout)
        ]

    def on(self, subjects: str, at_least: int = 1, timeout: float = 10) -> list[StoredMessage]:
        """The stream's messages on `subjects` (wildcards allowed), once there are
        `at_least`."""
        deadline = time.monotonic() + timeout
        while True:
            found = run_async(_stored_messages(self.nats_url, subjects))
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture
def stream(nats_server: Nats) -> EventReader:
    return EventReader(nats_server.url)


def block_stats(index: int, samples: list[float], output: str = "estimate") -> stats_pb2.BlockStats:
    count = len(samples)
    mean = sum(samples) / count
    m2 = sum((x - mean) ** 2 for x in samples)
    return stats_pb2.BlockStats(
        block=index,
        samples=count,
        moments={output: stats_pb2.Moments(count=count, mean=mean, m2=m2)},
        counts={"hits": count},
    )


def sha(seed: str) -> str:
    """A code sha256 for tests (any 64 hex digits will do)."""
    return hashlib.sha256(seed.encode()).hexdigest()


def registered_version(job: pb.Job) -> int:
    """The version a registration job's summary names."""
    return int(job.summary.fields["version"].number_value)


def inspected(**fields: Any) -> pb.Model:
    """What a worker's inspection of function-form code reports (BLOCKS, one sample count)."""
    model = pb.Model(
        title="Asian option",
        description="Prices an Asian call.",
        parameters=[
            pb.Parameter(
                name="samples",
                label="Samples",
                type=pb.PARAMETER_TYPE_INT,
                default=struct_pb2.Value(number_value=1_000_000),
                minimum=1,
                is_sample_count=True,
            ),
            pb.Parameter(name="spot", label="Spot", type=pb.PARAMETER_TYPE_FLOAT, minimum=0),
            pb.Parameter(
                name="style", label="Style", type=pb.PARAMETER_TYPE_CHOICE, choices=["a", "b"]
            ),
        ],
        outputs=[pb.Output(name="value", label="Value"), pb.Output(name="payoff")],
        primary_output="value",
        kind=pb.MODEL_KIND_BLOCKS,
        block_size=10_000,
        imports=["numpy"],
        reproducible=True,
        runtime="local (Python 3.11.9, NumPy 2.1.0, SciPy 1.14.1)",
    )
    model.MergeFrom(pb.Model(**fields))
    return model


def status_of(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    """The status code and details of the RpcError that `call` raises."""
    with pytest.raises(grpc.RpcError) as failed:
        call()
    return failed.value.code(), failed.value.details()
