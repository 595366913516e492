"""Precision runs' prefix and stop, what is reported of them, fingerprints, cache hits and
which blocks a top-up reuses: the pure parts."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from services.jobstore.tests.specs import SPEC
from simlab.common.errors import Code, SimlabError
from simlab.core.precision import Precision, Prefix, Stop, StopReason
from simlab.core.stats import Moments
from simlab_jobstore.core import jobs, targets
from simlab_jobstore.core.jobs import Job
from simlab_jobstore.core.states import JobState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# 40 blocks of 100 samples: enough for a pilot of 10 and a stop well before the budget.
BLOCK_SIZE = 100
BLOCKS = 40


def precision_job(precision: Precision | None = None, **changes: Any) -> Job:
    spec = dataclasses.replace(
        SPEC,
        block_size=BLOCK_SIZE,
        # A shorter last block by default.
        samples_total=changes.pop("samples_total", BLOCKS * BLOCK_SIZE - 30),
        precision=precision or Precision.of(rel_tol=0.02),
        model_version=3,
        code_sha256="c" * 64,
    )
    return dataclasses.replace(jobs.new_job(spec, "j1", spec.seed, T0), **changes)


def block_moments(seed: int = 1) -> list[Moments]:
    rng = np.random.default_rng(seed)
    return [Moments.of(rng.normal(10.0, 1.0, BLOCK_SIZE)) for _ in range(BLOCKS)]


def arrive(job: Job, order: list[int], moments: list[Moments]) -> Job:
    """Blocks recorded in `order`: after each, the prefix advances over the recorded ones, as
    the adapter does."""
    recorded: dict[int, Moments] = {}
    for block in order:
        recorded[block] = moments[block]
        if targets.prefix_wants(job):
            job = targets.grow_prefix(job, sorted(recorded.items()))
    return job


@pytest.mark.parametrize("two_stage", [False, True])
def test_the_stop_is_the_same_whatever_order_the_blocks_arrive_in(two_stage: bool) -> None:
    job = precision_job(Precision.of(rel_tol=0.003, two_stage=two_stage))
    moments = block_moments()
    in_order = arrive(job, list(range(BLOCKS)), moments)
    assert in_order.stop is not None and in_order.blocks_complete
    for seed in range(5):
        order = list(range(BLOCKS))
        random.Random(seed).shuffle(order)
        shuffled = arrive(job, order, moments)
        assert (shuffled.stop, shuffled.prefix) == (in_order.stop, in_order.prefix)


def test_the_prefix_stops_at_a_gap_and_never_past_a_decided_stop() -> None:
    job = precision_job(Precision.of(rel_tol=0.5, min_blocks=3))
    moments = block_moments()
    gapped = targets.grow_prefix(job, [(0, moments[0]), (1, moments[1]), (5, moments[5])])
    assert (gapped.prefix.blocks, gapped.stop) == (2, None)
    decided = targets.grow_prefix(gapped, [(b, moments[b]) for b in range(2, 10)])
    assert decided.stop == Stop(StopReason.PRECISION_REACHED, 0, 3)
    assert decided.prefix.blocks == 3 and decided.blocks_complete
    assert targets.grow_prefix(decided, [(3, moments[3])]) == decided


def test_a_budget_run_out_stops_at_the_last_block() -> None:
    job = precision_job(Precision.of(abs_tol=1e-9))
    done = targets.grow_prefix(job, list(enumerate(block_moments())))
    assert done.stop == Stop(StopReason.BUDGET_EXHAUSTED, 0, BLOCKS)


def test_needed_blocks_and_shards_follow_the_stop() -> None:
    job = precision_job(shards=8)
    assert [len(job.needed_blocks(s)) for s in range(8)] == [5] * 8
    stopped = dataclasses.replace(job, stop=Stop(StopReason.PRECISION_REACHED, 0, 5))
    assert list(stopped.needed_blocks(2)) == [2] and list(stopped.needed_blocks(6)) == []
    assert stopped.needed_shards == 5 and job.needed_shards == 8


def test_a_precision_run_succeeds_only_once_its_prefix_reached_the_stop() -> None:
    job = precision_job(state=JobState.RUNNING, blocks_done=BLOCKS)
    with pytest.raises(SimlabError) as refused:
        jobs.succeed(job, {}, T0)
    assert refused.value.code is Code.FAILED_PRECONDITION
    done = targets.grow_prefix(job, list(enumerate(block_moments())))
    assert jobs.succeed(done, {"estimate": 10.0}, T0) is not None


def test_stop_info_reports_the_samples_used_and_the_half_width_once_all_are_in() -> None:
    job = precision_job(Precision.of(abs_tol=1e-9), blocks_done=BLOCKS)
    assert targets.stop_info(job) is None
    done = targets.grow_prefix(job, list(enumerate(block_moments())))
    info = targets.stop_info(done)
    assert info is not None and info.end_block == BLOCKS
    assert info.samples_used == done.samples_total  # the short last block included
    assert info.half_width == done.precision.half_width(done.prefix.moments)  # type: ignore[union-attr]
    assert (info.confidence, info.blocks_discarded) == (0.95, 0)
    early = dataclasses.replace(
        job, stop=Stop(StopReason.PRECISION_REACHED, 0, 12), prefix=done.prefix
    )
    info = targets.stop_info(dataclasses.replace(early, prefix=Prefix(12)))
    assert info is not None
    assert (info.samples_used, info.blocks_discarded) == (1200, BLOCKS - 12)
    unfinished = targets.stop_info(dataclasses.replace(early, prefix=Prefix(11)))
    assert unfinished is not None and unfinished.half_width is None


def test_samples_to_target_comes_from_the_running_moments_until_the_stop() -> None:
    job = precision_job(Precision.of(abs_tol=0.01))
    assert targets.samples_to_target(job) == 0
    running = dataclasses.replace(job, moments=Moments(1000, 10.0, 999.0))
    # (1.96 * 1 / 0.01)^2 samples.
    assert targets.samples_to_target(running) == pytest.approx(38_415, abs=2)
    two_stage = dataclasses.replace(running, precision=Precision.of(abs_tol=0.01, two_stage=True))
    assert targets.samples_to_target(two_stage) == pytest.approx(
        10 * BLOCK_SIZE + 1.2**2 * 38_415, rel=1e-4
    )
    stopped = dataclasses.replace(running, stop=Stop(StopReason.BUDGET_EXHAUSTED, 0, 3))
    assert targets.samples_to_target(stopped) == 0


def test_a_fingerprint_covers_what_makes_the_result_and_nothing_else() -> None:
    job = precision_job()
    print_ = targets.fingerprint(job, "local")
    assert print_ is not None and len(print_) == 64
    # Struct numbers are floats; the JSON a parameter came from may say 1000.
    assert targets.fingerprint(dataclasses.replace(job, parameters={"samples": 1000.0}), "local")
    assert print_ == targets.fingerprint(
        dataclasses.replace(job, parameters={"samples": 1000.0}, shards=8, job_id="j2"), "local"
    )
    for changed in (
        {"seed": 8, "requested_seed": 8},
        {"parameters": {"samples": 1001}},
        {"precision": Precision.of(rel_tol=0.01)},
        {"precision": None},
        {"block_size": 50},
        {"samples_total": 4000},
        {"code_sha256": "d" * 64},
        {"model_version": 4},
    ):
        assert targets.fingerprint(dataclasses.replace(job, **changed), "local") != print_
    assert targets.fingerprint(job, "k8s") != print_
    # Never reused: a random seed, code outside the registry, a script.
    assert targets.fingerprint(dataclasses.replace(job, requested_seed=0), "local") is None
    assert targets.fingerprint(dataclasses.replace(job, model_version=0), "local") is None
    assert targets.fingerprint(dataclasses.replace(job, blocks_total=0), "local") is None


def test_a_cache_hit_is_succeeded_with_the_sources_result() -> None:
    source = targets.grow_prefix(
        precision_job(Precision.of(abs_tol=1e-9), job_id="src", runtime="local", summary={"x": 1}),
        list(enumerate(block_moments())),
    )
    hit = targets.reuse(precision_job(job_id="hit"), source, T0)
    assert (hit.state, hit.cached_from, hit.summary, hit.stop) == (
        JobState.SUCCEEDED,
        "src",
        {"x": 1},
        source.stop,
    )
    assert [change.state for change in hit.history] == [JobState.SUCCEEDED]
    assert "reused the result of src" in hit.history[0].reason


def test_a_top_up_reuses_the_identical_blocks_only() -> None:
    source = precision_job(samples_total=1000, state=JobState.SUCCEEDED)  # 10 full blocks
    grown = precision_job(samples_total=4000)
    assert targets.reusable_blocks(source, grown) == 10
    partial = precision_job(samples_total=950)  # block 9 holds 50 samples
    assert targets.reusable_blocks(partial, grown) == 9
    assert targets.reusable_blocks(grown, partial) == 9
    assert targets.reusable_blocks(source, precision_job(samples_total=1000)) == 10


def test_a_top_up_counts_its_reused_blocks_and_advances_its_prefix() -> None:
    source = precision_job(samples_total=1000, state=JobState.SUCCEEDED, job_id="src")
    job = precision_job(Precision.of(rel_tol=1e-9))
    moments = block_moments()
    topped = targets.extended(job, source, [(b, moments[b]) for b in range(10)], T0)
    assert (topped.blocks_done, topped.samples_done, topped.prefix.blocks) == (10, 1000, 10)
    assert topped.history[-1].reason == "submitted: extends src, 10 blocks reused"


def test_a_top_up_of_different_code_seed_or_parameters_is_refused_naming_the_field() -> None:
    source = precision_job(samples_total=1000, state=JobState.SUCCEEDED, job_id="src")
    spec = dataclasses.replace(SPEC, model_version=3, samples_total=4000, block_size=BLOCK_SIZE)
    ok = dataclasses.replace(spec, parameters={"samples": 4000.0})
    targets.check_extension(ok, dataclasses.replace(source, parameters={"samples": 1000}))
    for changed, field in (
        ({"seed": 8}, "seed"),
        ({"model_version": 4}, "model_version"),
        ({"block_size": 50}, "block_size"),
        ({"parameters": {"samples": 4000, "spot": 1}}, "parameters.spot"),
    ):
        with pytest.raises(SimlabError) as refused:
            targets.check_extension(dataclasses.replace(ok, **changed), source)
        assert (refused.value.code, refused.value.field) == (Code.INVALID_ARGUMENT, field)
    for state in (JobState.RUNNING, JobState.FAILED):
        with pytest.raises(SimlabError) as refused:
            targets.check_extension(ok, dataclasses.replace(source, state=state))
        assert refused.value.code is Code.FAILED_PRECONDITION


def test_a_script_has_no_precision_and_nothing_to_extend() -> None:
    for changed, field in (
        ({"precision": Precision.of(rel_tol=0.1)}, "precision"),
        ({"extends": "x"}, "extends"),
    ):
        with pytest.raises(SimlabError) as refused:
            dataclasses.replace(SPEC, shards=1, **changed).validate(script=True)
        assert refused.value.field == field


def test_once_the_prefix_reached_the_stop_the_estimate_is_the_results() -> None:
    moments = block_moments()
    job = precision_job(Precision.of(rel_tol=0.5, min_blocks=3))
    for block in range(6):
        job = jobs.record_blocks(
            job, [jobs.BlockReport(block, BLOCK_SIZE, {"estimate": moments[block]}, b"")], T0
        )
    assert job.estimate == job.moments.mean and job.moments.count == 6 * BLOCK_SIZE
    done = targets.grow_prefix(job, list(enumerate(moments[:6])))
    assert done.stop is not None and done.stop.end_block == 3
    assert (done.estimate, done.stderr) == (done.prefix.moments.mean, done.prefix.moments.stderr)
    assert done.prefix.moments.count == 3 * BLOCK_SIZE
