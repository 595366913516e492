"""The runner's and the workers' calls, and the events they leave on NATS: every change once,
in seq order, with no gaps; duplicate and late reports leave no trace."""

from __future__ import annotations

import statistics

import grpc
import pytest

from services.jobstore.tests.conftest import Client, EventReader, status_of
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab.v1 import stats_pb2

pytestmark = pytest.mark.integration

# Four blocks of a 2-shard job (block_size 250 of 1000 samples in the client's defaults; the
# samples here are few, only their moments matter). Shard 0 owns blocks 0 and 2.
SAMPLES = {0: [1.0, 2.0, 3.0], 1: [4.0, 5.0], 2: [6.0], 3: [7.0, 8.0, 9.0, 10.0]}


def shard_of(block: int) -> int:
    return block % 2


def report_all(client: Client, job_id: str) -> None:
    for block, samples in SAMPLES.items():
        client.report_blocks(job_id, shard_of(block), {block: samples})


def test_a_job_runs_to_success_and_every_change_is_an_event_in_order(
    client: Client, stream: EventReader
) -> None:
    job_id = client.create().job_id
    client.report_state(job_id, pb.JOB_STATE_LAUNCHING, reason="pods created")
    started = client.start_shard(job_id, 0)
    assert started.job.state == pb.JOB_STATE_RUNNING and not started.stop
    assert list(started.done_blocks) == []
    client.start_shard(job_id, 1)

    report_all(client, job_id)
    assert list(client.start_shard(job_id, 0).done_blocks) == [0, 2]
    first = client.finish_shard(job_id, 0)
    assert not first.finalize and not first.blocks
    last = client.finish_shard(job_id, 1)
    assert last.finalize
    assert [block.block for block in last.blocks] == [0, 1, 2, 3]
    assert last.blocks[3].moments["estimate"].count == 4
    assert last.blocks[0].counts["hits"] == 3
    # The finalizer may have crashed: asking again gets the blocks again; the other shard not.
    assert client.finish_shard(job_id, 1).finalize
    assert not client.finish_shard(job_id, 0).finalize

    done = client.complete(job_id, {"estimate": 5.5})
    assert done.state == pb.JOB_STATE_SUCCEEDED and done.summary["estimate"] == 5.5
    everything = [x for samples in SAMPLES.values() for x in samples]
    assert done.progress.blocks_done == 4 and done.progress.samples_done == len(everything)
    assert done.progress.estimate == pytest.approx(statistics.fmean(everything))
    assert done.progress.stderr == pytest.approx(
        statistics.stdev(everything) / len(everything) ** 0.5
    )
    assert [change.state for change in done.history] == [
        pb.JOB_STATE_QUEUED,
        pb.JOB_STATE_LAUNCHING,
        pb.JOB_STATE_RUNNING,
        pb.JOB_STATE_SUCCEEDED,
    ]

    # queued, launching, running, 4 progress, succeeded.
    stored = stream.of(job_id, at_least=8)
    assert [e.event.seq for e in stored] == list(range(1, 9)) == list(range(1, done.seq + 1))
    kinds = [e.event.kind for e in stored]
    assert kinds == [pb.EVENT_KIND_STATE] * 3 + [pb.EVENT_KIND_PROGRESS] * 4 + [pb.EVENT_KIND_STATE]
    assert [e.subject.rsplit(".", 1)[1] for e in stored] == [
        "queued",
        "launching",
        "running",
        *["progress"] * 4,
        "succeeded",
    ]
    assert stored[-1].event.job == done
    assert all(e.msg_id == e.event.event_id for e in stored)
    assert len({e.event.event_id for e in stored}) == 8

    request = store_pb.GetProgressHistoryRequest(job_id=job_id)
    points = client.call("GetProgressHistory", request).points
    assert [point.seq for point in points] == [4, 5, 6, 7]
    assert [point.samples_done for point in points] == [3, 5, 6, 10]
    assert points[-1].estimate == done.progress.estimate


def test_a_duplicate_block_report_changes_nothing_and_sends_no_event(
    client: Client, stream: EventReader
) -> None:
    job_id = client.create().job_id
    client.start_shard(job_id, 0)
    client.report_blocks(job_id, 0, {0: [1.0]})
    once = client.get(job_id)
    assert not once.progress.HasField("stderr")  # one sample: no standard error yet
    client.report_blocks(job_id, 0, {0: [1.0]})
    assert client.get(job_id) == once
    # A report mixing a known block with a new one counts only the new one.
    client.report_blocks(job_id, 0, {0: [1.0], 2: [3.0]})
    both = client.get(job_id)
    assert (both.seq, both.progress.blocks_done, both.progress.samples_done) == (4, 2, 2)
    assert both.progress.stderr == pytest.approx(1.0)
    # queued, running, progress, progress.
    assert [e.event.seq for e in stream.of(job_id, at_least=4)] == [1, 2, 3, 4]


def test_late_and_duplicate_runner_reports_change_nothing(
    client: Client, stream: EventReader
) -> None:
    job_id = client.create().job_id
    client.start_shard(job_id, 0)
    running = client.get(job_id)
    assert client.report_state(job_id, pb.JOB_STATE_LAUNCHING) == running
    assert client.report_state(job_id, pb.JOB_STATE_RUNNING) == running
    assert [e.event.seq for e in stream.of(job_id, at_least=2)] == [1, 2]


def test_blocks_are_refused_from_the_wrong_shard_and_before_a_start(client: Client) -> None:
    job_id = client.create().job_id
    code, _ = status_of(lambda: client.report_blocks(job_id, 0, {0: [1.0]}))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    client.start_shard(job_id, 0)
    code, details = status_of(lambda: client.report_blocks(job_id, 0, {1: [1.0]}))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("blocks[0].block")
    code, details = status_of(lambda: client.start_shard(job_id, 5))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("shard")


def test_a_shard_cannot_finish_with_blocks_missing_nor_the_job_succeed(client: Client) -> None:
    job_id = client.create().job_id
    client.start_shard(job_id, 0)
    client.report_blocks(job_id, 0, {0: [1.0]})
    code, details = status_of(lambda: client.finish_shard(job_id, 0))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "1 of its 2 blocks" in details
    code, details = status_of(lambda: client.complete(job_id, {}))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "1 of 4 blocks" in details


def test_a_failure_keeps_its_error_and_the_first_one_wins(
    client: Client, stream: EventReader
) -> None:
    job_id = client.create().job_id
    client.start_shard(job_id, 1)
    failed = client.fail(
        job_id,
        1,
        message="ZeroDivisionError: division by zero",
        traceback='Traceback (most recent call last):\n  File "model.py"',
        source="model",
        log_tail="last words",
    )
    assert failed.state == pb.JOB_STATE_FAILED
    assert failed.error == pb.JobError(
        message="ZeroDivisionError: division by zero",
        traceback='Traceback (most recent call last):\n  File "model.py"',
        source="model",
        log_tail="last words",
    )
    assert failed.history[-1].reason == "shard 1 failed: ZeroDivisionError: division by zero"
    assert client.fail(job_id, 0, message="later") == failed
    assert client.get(job_id).error.message == "ZeroDivisionError: division by zero"
    # A shard still running learns that it should stop.
    assert client.report_blocks(job_id, 1, {1: [1.0]}).stop
    assert client.get(job_id) == failed
    assert [e.event.seq for e in stream.of(job_id, at_least=3)] == [1, 2, 3]


def test_a_failure_without_a_message_still_fails_the_job(client: Client) -> None:
    job_id = client.create().job_id
    failed = client.fail(job_id, 1, traceback="Traceback ...")
    assert failed.state == pb.JOB_STATE_FAILED
    assert (failed.error.message, failed.error.traceback) == (
        "shard 1 failed (no message)",
        "Traceback ...",
    )


def test_while_cancelling_shards_stop_a_failure_is_ignored_and_success_refused(
    client: Client,
) -> None:
    job_id = client.create().job_id
    client.start_shard(job_id, 0)
    client.start_shard(job_id, 1)
    report_all(client, job_id)
    client.call("CancelJob", store_pb.CancelJobRequest(owner="ana", job_id=job_id))
    assert client.start_shard(job_id, 0).stop
    assert client.report_blocks(job_id, 0, {0: [1.0]}).stop
    assert not client.finish_shard(job_id, 0).finalize
    assert not client.finish_shard(job_id, 1).finalize
    cancelling = client.get(job_id)
    assert client.fail(job_id, 0, message="killed") == cancelling
    code, details = status_of(lambda: client.complete(job_id, {}))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert details == f"job {job_id} is CANCELLING, cannot become SUCCEEDED"
    ended = client.report_state(job_id, pb.JOB_STATE_CANCELLED, reason="pods gone")
    assert ended.state == pb.JOB_STATE_CANCELLED and not ended.HasField("error")


def test_the_finalizer_gets_the_blocks_as_the_workers_sent_them(client: Client) -> None:
    job_id = client.create(shards=1, samples_total=500).job_id
    client.start_shard(job_id, 0)
    sent = stats_pb2.BlockStats(
        block=1,
        samples=2,
        moments={"estimate": stats_pb2.Moments(count=2, mean=0.5, m2=0.5)},
        minima={"f": stats_pb2.Minimum(value=-1.5, argmin=[0.25, 0.75])},
        histograms={"x": stats_pb2.Histogram(lo=0, hi=1, counts=[1, 0, 1], below=2, above=3)},
    )
    request = store_pb.ReportBlocksRequest(job_id=job_id, shard=0, blocks=[sent])
    client.worker_call("ReportBlocks", request)
    client.report_blocks(job_id, 0, {0: [1.0]})
    finished = client.finish_shard(job_id, 0)
    assert finished.finalize and finished.blocks[1] == sent
