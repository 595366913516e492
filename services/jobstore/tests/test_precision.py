"""Precision runs on a real job store: the stop decided on the in-order block prefix whatever
the shard count and the order blocks arrive in, decided once and kept across a kill -9, told to
workers, and what the finalizing shard gets; the result cache; top-ups."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from services.jobstore.tests.conftest import (
    Client,
    EventReader,
    JobStoreProcess,
    sha,
    status_of,
)
from services.jobstore.tests.test_registry import builtin, register_builtin
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb
from simlab_jobstore.adapters.postgres import shards as shards_adapter

pytestmark = pytest.mark.integration

BLOCK_SIZE = 10
# 60 blocks, the last one of 5 samples: the budget.
SAMPLES_TOTAL = 595
BLOCKS = 60
# The same samples of each block, whichever shard reports it.
DATA = {
    block: [
        random.Random(block).gauss(10.0, 1.0)
        for _ in range(min(BLOCK_SIZE, SAMPLES_TOTAL - BLOCK_SIZE * block))
    ]
    for block in range(BLOCKS)
}
# Met after some 25 blocks of the data above (half-width 1.96 / sqrt(10 k) vs 1.25 % of 10).
SEQUENTIAL = pb.Precision(rel_tol=0.0125)
TWO_STAGE = pb.Precision(rel_tol=0.0125, two_stage=True)


def create(client: Client, owner: str = "ana", **fields: Any) -> pb.Job:
    fields.setdefault("parameters", {"samples": fields.get("samples_total", SAMPLES_TOTAL)})
    return client.create(
        owner,
        **{"block_size": BLOCK_SIZE, "samples_total": SAMPLES_TOTAL, "seed": 7, **fields},
    )


def run(client: Client, job_id: str, shards: int, order: list[int]) -> dict[str, Any]:
    """Workers of every shard report the blocks in `order` (each by its shard), skipping those
    at or past a stop block once told of one, then finish: what they saw."""
    client.report_state(job_id, pb.JOB_STATE_LAUNCHING)
    for shard in range(shards):
        client.start_shard(job_id, shard)
    stop_block = 0
    reported = 0
    blocks_total = client.get(job_id).progress.blocks_total
    for block in order:
        if block >= blocks_total or (stop_block and block >= stop_block):
            continue
        answer = client.report_blocks(job_id, block % shards, {block: DATA[block]})
        reported += 1
        stop_block = stop_block or answer.stop_block
        assert answer.stop_block in (0, stop_block)
    finals = [client.finish_shard(job_id, shard) for shard in range(shards)]
    finalizers = [final for final in finals if final.finalize]
    assert len(finalizers) == 1
    return {
        "stop_block": stop_block,
        "reported": reported,
        "blocks": [block.block for block in finalizers[0].blocks],
        "job": client.get(job_id),
    }


def stop_of(job: pb.Job) -> tuple[int, int, int]:
    return job.stop.reason, job.stop.first_block, job.stop.end_block


@pytest.mark.parametrize("precision", [SEQUENTIAL, TWO_STAGE], ids=["sequential", "two-stage"])
def test_the_stop_is_the_same_for_1_3_and_8_shards_whatever_the_order(
    client: Client, precision: pb.Precision
) -> None:
    stops = set()
    for shards in (1, 3, 8):
        for seed in range(2):
            order = list(range(BLOCKS))
            random.Random(seed).shuffle(order)
            job_id = create(client, shards=shards, precision=precision).job_id
            seen = run(client, job_id, shards, order)
            job = seen["job"]
            # The result's half-width and estimate too, bit for bit.
            stops.add((*stop_of(job), job.stop.half_width, job.progress.estimate))
            first, end = job.stop.first_block, job.stop.end_block
            assert seen["stop_block"] == end
            assert seen["blocks"] == list(range(first, end))
            assert job.progress.blocks_done == seen["reported"]
            assert job.stop.blocks_discarded == seen["reported"] - end
            assert job.stop.samples_used == (end - first) * BLOCK_SIZE
            assert job.stop.HasField("half_width") and job.stop.confidence == 0.95
            done = client.complete(job_id, {"estimate": 10.0})
            assert done.state == pb.JOB_STATE_SUCCEEDED
    ((reason, first, end, _, _),) = stops
    assert reason == pb.STOP_REASON_PRECISION_REACHED and 10 <= end < BLOCKS
    assert first == (10 if precision.two_stage else 0)


def test_the_prefix_advances_over_many_recorded_blocks_a_batch_at_a_time(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_order = create(client, shards=1, precision=TWO_STAGE).job_id
    expected = run(client, in_order, 1, list(range(BLOCKS)))["job"]
    monkeypatch.setattr(shards_adapter, "PREFIX_BATCH", 3)
    job_id = create(client, shards=1, precision=TWO_STAGE).job_id
    client.report_state(job_id, pb.JOB_STATE_LAUNCHING)
    client.start_shard(job_id, 0)
    # Every block but the first, then the first: one report advances the prefix over all.
    assert client.report_blocks(job_id, 0, {b: DATA[b] for b in range(1, BLOCKS)}).stop_block == 0
    assert client.report_blocks(job_id, 0, {0: DATA[0]}).stop_block == expected.stop.end_block
    job = client.get(job_id)
    assert (*stop_of(job), job.stop.half_width) == (*stop_of(expected), expected.stop.half_width)
    assert job.stop.blocks_discarded == BLOCKS - job.stop.end_block


def test_shards_past_the_stop_count_as_done_and_are_told_so(client: Client) -> None:
    job_id = create(client, shards=40, precision=pb.Precision(rel_tol=0.05, min_blocks=3)).job_id
    seen = run(client, job_id, 40, list(range(BLOCKS)))
    end = seen["job"].stop.end_block
    assert 3 <= end < 40 and seen["reported"] == end
    # A shard launched after the stop learns it has nothing to do; it finishes at once.
    started = client.start_shard(job_id, 39)
    assert started.stop_block == end and list(started.done_blocks) == []
    assert not client.finish_shard(job_id, 39).finalize


def test_a_run_cannot_succeed_before_its_prefix_reached_the_stop(client: Client) -> None:
    job_id = create(client, shards=2, precision=SEQUENTIAL).job_id
    client.start_shard(job_id, 0)
    client.report_blocks(job_id, 0, {b: DATA[b] for b in range(2, 20, 2)})
    code, details = status_of(lambda: client.finish_shard(job_id, 0))
    assert code is grpc.StatusCode.FAILED_PRECONDITION, details
    code, _ = status_of(lambda: client.complete(job_id, {}))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    job = client.get(job_id)
    assert not job.HasField("stop") and job.progress.samples_to_target > 0


def test_the_stop_is_decided_once_and_kept_across_a_kill(
    jobstore_env: Callable[..., dict[str, str]],
    start_process: Callable[..., JobStoreProcess],
    stream: EventReader,
) -> None:
    first = start_process(jobstore_env())
    job_id = create(first.client, shards=1, precision=SEQUENTIAL).job_id
    first.client.start_shard(job_id, 0)
    stop_block = 0
    for block in range(BLOCKS):
        stop_block = first.client.report_blocks(job_id, 0, {block: DATA[block]}).stop_block
        if stop_block:
            break
    decided = first.client.get(job_id)
    first.kill()

    second = start_process(jobstore_env())
    again = second.client.get(job_id)
    assert again.stop == decided.stop and stop_block == decided.stop.end_block
    # Blocks past the stop (sent before the worker learnt of it) change nothing of it.
    late = second.client.report_blocks(job_id, 0, {stop_block: DATA[stop_block]})
    assert late.stop_block == stop_block
    kept = second.client.get(job_id)
    assert stop_of(kept) == stop_of(decided) and kept.stop.blocks_discarded == 1
    assert second.client.start_shard(job_id, 0).stop_block == stop_block
    final = second.client.finish_shard(job_id, 0)
    assert [block.block for block in final.blocks] == list(range(stop_block))
    # Watchers see the stop from the event of the change that decided it on.
    events = stream.of(job_id, at_least=kept.seq)
    with_stop = [e.event.seq for e in events if e.event.job.HasField("stop")]
    assert with_stop == list(range(decided.seq, kept.seq + 1))
    assert {stop_of(e.event.job) for e in events if e.event.job.HasField("stop")} == {
        stop_of(decided)
    }


def test_precision_is_validated_and_part_of_a_resubmission(client: Client) -> None:
    code, details = status_of(lambda: create(client, precision=pb.Precision(confidence=0.9)))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("precision.rel_tol")
    code, details = status_of(
        lambda: create(client, precision=pb.Precision(rel_tol=0.1, min_blocks=1))
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("precision.min_blocks")
    job = create(client, precision=SEQUENTIAL, request_id="r1")
    assert job.precision == pb.Precision(rel_tol=0.0125, confidence=0.95, min_blocks=10)
    assert create(client, precision=SEQUENTIAL, request_id="r1").job_id == job.job_id
    code, _ = status_of(lambda: create(client, precision=TWO_STAGE, request_id="r1"))
    assert code is grpc.StatusCode.ALREADY_EXISTS


# ---- the result cache ------------------------------------------------------------------------


def register_private(client: Client, owner: str = "ana") -> int:
    return client.register(owner, "asian", sha("asian v1"), public=False).version


def finished(client: Client, owner: str = "ana", **fields: Any) -> pb.Job:
    job_id = create(client, owner, **fields).job_id
    seen = run(client, job_id, fields.get("shards", 2), list(range(BLOCKS)))
    assert seen["job"].progress.blocks_done
    return client.complete(job_id, {"estimate": seen["job"].progress.estimate})


def test_a_same_submission_reuses_a_finished_run(client: Client, stream: EventReader) -> None:
    version = register_private(client)
    submission: dict[str, Any] = {
        "model": "asian",
        "model_version": version,
        "precision": SEQUENTIAL,
    }
    source = finished(client, shards=3, **submission)
    hit = create(client, shards=8, **submission)
    assert (hit.state, hit.cached_from, hit.summary) == (
        pb.JOB_STATE_SUCCEEDED,
        source.job_id,
        source.summary,
    )
    assert (hit.stop, hit.progress, hit.runtime) == (source.stop, source.progress, source.runtime)
    assert [change.reason for change in hit.history] == [
        f"reused the result of {source.job_id}: same code, runtime, parameters, seed and precision"
    ]
    (event,) = stream.of(hit.job_id)
    assert event.event.kind == pb.EVENT_KIND_STATE and event.event.job == hit
    history = store_pb.GetProgressHistoryRequest(job_id=hit.job_id)
    source_history = store_pb.GetProgressHistoryRequest(job_id=source.job_id)
    assert client.call("GetProgressHistory", history) == client.call(
        "GetProgressHistory", source_history
    )
    # A hit of a hit names the run that computed the result.
    assert create(client, **submission).cached_from == source.job_id
    # no_cache, a random seed, another precision, other parameters: a new run.
    for fields in (
        {"no_cache": True},
        {"seed": 0},
        {"precision": TWO_STAGE},
        {"parameters": {"samples": SAMPLES_TOTAL, "spot": 1}},
    ):
        fresh = create(client, **{**submission, **fields})
        assert (fresh.state, fresh.cached_from) == (pb.JOB_STATE_QUEUED, ""), fields


def test_the_cache_never_crosses_users_for_private_models(client: Client) -> None:
    version = register_private(client)
    submission: dict[str, Any] = {"model": "asian", "model_version": version}
    finished(client, **submission)
    other = create(client, "bob", **submission)
    assert (other.state, other.cached_from) == (pb.JOB_STATE_QUEUED, "")


def test_results_of_built_in_models_are_shared(client: Client) -> None:
    version = register_builtin(client, builtin("pi")).version
    submission: dict[str, Any] = {"model": "pi", "model_version": version}
    source = finished(client, **submission)
    assert create(client, "bob", **submission).cached_from == source.job_id


# ---- top-ups ---------------------------------------------------------------------------------


def test_a_top_up_reuses_exactly_the_identical_blocks(client: Client) -> None:
    version = register_private(client)
    # 20 blocks of 10 then one of 5: block 20 differs from the top-up's, the others do not.
    source = finished(
        client,
        model="asian",
        model_version=version,
        samples_total=205,
        parameters={"samples": 205},
    )
    assert source.progress.blocks_total == 21
    topped = create(
        client,
        model="asian",
        model_version=version,
        shards=3,
        extends=source.job_id,
    )
    assert (topped.extends, topped.progress.blocks_done) == (source.job_id, 20)
    assert topped.progress.samples_done == 200 and topped.state == pb.JOB_STATE_QUEUED
    assert topped.history[-1].reason == f"submitted: extends {source.job_id}, 20 blocks reused"
    client.report_state(topped.job_id, pb.JOB_STATE_LAUNCHING)
    for shard in range(3):
        done = list(client.start_shard(topped.job_id, shard).done_blocks)
        assert done == list(range(shard, 20, 3))
    seen = run(client, topped.job_id, 3, [b for b in range(BLOCKS) if b >= 20])
    assert seen["reported"] == BLOCKS - 20 and seen["blocks"] == list(range(BLOCKS))
    assert seen["job"].progress.samples_done == SAMPLES_TOTAL


def test_a_top_up_with_a_precision_may_stop_at_once(client: Client) -> None:
    version = register_private(client)
    source = finished(client, model="asian", model_version=version)
    topped = create(
        client,
        model="asian",
        model_version=version,
        samples_total=2000,
        parameters={"samples": 2000},
        precision=SEQUENTIAL,
        extends=source.job_id,
    )
    assert topped.progress.blocks_done == BLOCKS - 1  # the last, partial, block is not reused
    assert topped.stop.end_block < BLOCKS - 1 and topped.stop.HasField("half_width")
    # A cache hit of it resolves to the run it reused, as does extending the hit.
    hit = create(client, model="asian", model_version=version)
    assert hit.cached_from == source.job_id
    again = create(
        client,
        model="asian",
        model_version=version,
        samples_total=2000,
        parameters={"samples": 2000},
        extends=hit.job_id,
        request_id="top-up",
    )
    assert again.extends == source.job_id
    # Resubmitted: the same job, its blocks copied once.
    resubmitted = client.create_response(
        model="asian",
        model_version=version,
        samples_total=2000,
        parameters={"samples": 2000},
        extends=hit.job_id,
        request_id="top-up",
        block_size=BLOCK_SIZE,
        seed=7,
    )
    assert not resubmitted.created and resubmitted.job.job_id == again.job_id
    assert client.get(again.job_id).progress.blocks_done == BLOCKS - 1


def test_a_top_up_of_another_run_is_refused_naming_why(client: Client) -> None:
    version = register_private(client)
    submission: dict[str, Any] = {"model": "asian", "model_version": version}
    source = finished(client, **submission)

    def extend(owner: str = "ana", **fields: Any) -> tuple[grpc.StatusCode, str]:
        return status_of(lambda: create(client, owner, **{**submission, **fields}))

    assert extend("bob", extends=source.job_id)[0] is grpc.StatusCode.NOT_FOUND
    code, details = extend(extends=source.job_id, seed=8)
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("seed")
    code, details = extend(extends=source.job_id, parameters={"samples": 595, "spot": 2})
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("parameters.spot")
    running = create(client, **submission, no_cache=True)
    code, _ = extend(extends=running.job_id)
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    registration = client.begin_registration("ana", "asian", sha("asian v2")).job
    code, _ = extend(extends=registration.job_id)
    assert code is grpc.StatusCode.NOT_FOUND  # a registration job is internal
