"""Runs of registered code: a job records the version, bundle and arguments it runs and the
runtime its worker reports; a script run has no blocks, reports its progress as it goes and
succeeds without blocks."""

from __future__ import annotations

import math
from typing import Any

import grpc
import pytest

from services.jobstore.tests.conftest import Client, EventReader, sha, status_of
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb

pytestmark = pytest.mark.integration

SCRIPT = pb.Model(title="Report", kind=pb.MODEL_KIND_SCRIPT)


def report_progress(client: Client, job_id: str, **fields: Any) -> bool:
    request = store_pb.ReportProgressRequest(job_id=job_id, shard=0, **fields)
    stop: bool = client.worker_call("ReportProgress", request).stop
    return stop


def create_script_run(client: Client, **fields: Any) -> pb.Job:
    model = client.register(
        "ana", "report", sha("r"), model=SCRIPT, entry="run.py", files=["run.py"]
    )
    return client.create(
        model="report",
        model_version=model.version,
        code_sha256=model.code_sha256,
        args=["--fast", "out dir"],
        parameters={"region": "emea"},
        shards=fields.pop("shards", 1),
        primary_output="",
        block_size=fields.pop("block_size", 0),
        samples_total=fields.pop("samples_total", 0),
        **fields,
    )


def test_a_run_records_the_code_it_runs(client: Client, stream: EventReader) -> None:
    model = client.register("ana", "asian", sha("v1"))
    job = client.create(
        model="asian",
        model_version=1,
        code_sha256=sha("v1"),
        args=["ignored", "by blocks"],
        request_id="r1",
    )
    assert (job.kind, job.model, job.model_version, job.code_sha256) == (
        pb.JOB_KIND_RUN,
        "asian",
        1,
        model.code_sha256,
    )
    assert list(job.args) == ["ignored", "by blocks"] and job.runtime == ""
    assert client.get(job.job_id, owner="ana") == job
    (created,) = stream.of(job.job_id)
    assert created.event.job == job
    # A resubmission is recognised with its version and arguments.
    again = client.create_response(
        model="asian",
        model_version=1,
        code_sha256=sha("v1"),
        args=["ignored", "by blocks"],
        request_id="r1",
    )
    assert not again.created and again.job == job
    code, _ = status_of(
        lambda: client.create(model="asian", model_version=1, args=["other"], request_id="r1")
    )
    assert code is grpc.StatusCode.ALREADY_EXISTS


def test_the_code_of_a_run_is_the_registered_versions(client: Client) -> None:
    client.register("ana", "asian", sha("v1"))
    # Left empty, it is filled in from the registry.
    assert client.create(model="asian", model_version=1).code_sha256 == sha("v1")
    code, details = status_of(
        lambda: client.create(model="asian", model_version=1, code_sha256=sha("v2"))
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("code_sha256:")
    code, details = status_of(lambda: client.create(model="asian", model_version=2))
    assert (code, details) == (grpc.StatusCode.NOT_FOUND, "model asian@v2 not found")


def test_the_first_runtime_a_worker_reports_is_the_jobs(
    client: Client, stream: EventReader
) -> None:
    job_id = client.create().job_id
    assert client.start_shard(job_id, 0).job.runtime == ""
    assert client.start_shard(job_id, 1, runtime="pod (Python 3.11.9)").job.runtime == (
        "pod (Python 3.11.9)"
    )
    assert client.start_shard(job_id, 0, runtime="other").job.runtime == "pod (Python 3.11.9)"
    assert client.get(job_id).runtime == "pod (Python 3.11.9)"
    # Recorded without an event of its own: queued, running.
    assert [e.event.seq for e in stream.of(job_id, at_least=2)] == [1, 2]
    # Reported with the start, it comes with the RUNNING event.
    other = client.create().job_id
    assert client.start_shard(other, 0, runtime="local").job.runtime == "local"
    assert stream.of(other, at_least=2)[-1].event.job.runtime == "local"


def test_a_script_run_reports_progress_and_succeeds_without_blocks(
    client: Client, stream: EventReader
) -> None:
    job = create_script_run(client)
    assert (job.shards, job.block_size, job.progress.blocks_total) == (1, 0, 0)
    assert list(job.args) == ["--fast", "out dir"] and job.parameters["region"] == "emea"
    code, _ = status_of(lambda: report_progress(client, job.job_id, done=1))
    assert code is grpc.StatusCode.FAILED_PRECONDITION  # not started
    client.start_shard(job.job_id, 0)

    assert not report_progress(client, job.job_id, done=10.4, total=100, estimate=1.5, stderr=0.1)
    progress = client.get(job.job_id).progress
    assert (progress.samples_done, progress.samples_total) == (10, 100)
    assert (progress.estimate, progress.stderr) == (1.5, 0.1)
    # The same report again changes nothing; "total unknown" keeps the last known total.
    assert not report_progress(client, job.job_id, done=10.4, total=100, estimate=1.5, stderr=0.1)
    assert not report_progress(client, job.job_id, done=50, estimate=math.nan)
    progress = client.get(job.job_id).progress
    assert (progress.samples_done, progress.samples_total) == (50, 100)
    assert not progress.HasField("estimate") and not progress.HasField("stderr")

    done = client.complete(job.job_id, {"rows": 3})
    assert done.state == pb.JOB_STATE_SUCCEEDED and done.summary["rows"] == 3
    assert report_progress(client, job.job_id, done=60)  # ended: stop

    # queued, running, 2 progress, succeeded.
    stored = stream.of(job.job_id, at_least=5)
    assert [e.event.kind for e in stored] == [
        pb.EVENT_KIND_STATE,
        pb.EVENT_KIND_STATE,
        pb.EVENT_KIND_PROGRESS,
        pb.EVENT_KIND_PROGRESS,
        pb.EVENT_KIND_STATE,
    ]
    points = client.call(
        "GetProgressHistory", store_pb.GetProgressHistoryRequest(job_id=job.job_id)
    ).points
    assert [(p.samples_done, p.estimate if p.HasField("estimate") else None) for p in points] == [
        (10, 1.5),
        (50, None),
    ]


def test_a_script_run_stops_when_cancelled(client: Client) -> None:
    job = create_script_run(client)
    client.start_shard(job.job_id, 0)
    client.call("CancelJob", store_pb.CancelJobRequest(owner="ana", job_id=job.job_id))
    assert report_progress(client, job.job_id, done=1)


def test_a_script_has_no_blocks_whatever_the_request_says(client: Client) -> None:
    job = create_script_run(client, block_size=250, samples_total=1000)
    assert (job.block_size, job.progress.blocks_total, job.progress.samples_total) == (0, 0, 0)
    code, details = status_of(lambda: create_script_run(client, shards=2))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("shards:")


@pytest.mark.parametrize(
    "fields", [{"done": -1}, {"done": math.inf}, {"done": 1, "total": math.nan}]
)
def test_bad_progress_is_refused(client: Client, fields: dict[str, float]) -> None:
    job = create_script_run(client)
    client.start_shard(job.job_id, 0)
    code, _ = status_of(lambda: report_progress(client, job.job_id, **fields))
    assert code is grpc.StatusCode.INVALID_ARGUMENT


def test_a_block_run_reports_blocks_not_progress(client: Client) -> None:
    job_id = client.create().job_id
    client.start_shard(job_id, 0)
    code, details = status_of(lambda: report_progress(client, job_id, done=1))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "reports blocks" in details


def test_a_job_token_reports_progress_for_its_own_job_only(
    client: Client, worker_token: Any
) -> None:
    job = create_script_run(client)
    other = client.create().job_id
    request = store_pb.ReportProgressRequest(job_id=job.job_id, shard=0, done=1)
    code, _ = status_of(lambda: client.call("ReportProgress", request, worker_token(other)))
    assert code is grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(("args", "field"), [(["x"] * 257, "args"), (["ok", "a\0b"], "args[1]")])
def test_bad_arguments_are_refused(client: Client, args: list[str], field: str) -> None:
    code, details = status_of(lambda: client.create(args=args))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith(f"{field}:")
