"""End to end on the embedded stack: a run stops at its precision target at the same block for
1, 3 and 8 shards with bit-identical summaries; a rerun is served from the cache at once with
no worker; a top-up computes only the missing blocks and equals a fresh run bit for bit; kill -9
of the job store and the runner while the stop is being decided loses nothing and changes no
number; and a user's own model (function form) stops at its target too."""

from __future__ import annotations

import math
import statistics
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simlab.client import Client
from simlab.common.errors import Code, SimlabError
from simlab.devstack.stack import Stack
from simlab.v1 import simulation_pb2 as pb
from tests.conftest import running_stack

pytestmark = pytest.mark.e2e
# A call: sd of the discounted payoff ≈ 14, so ±0.05 at 95 % needs ≈ 310,000 paths (4 blocks
# of 100,000; the 10-block pilot comes first) and ±0.02 about 1.9 million (19 blocks).
OPTION = {"spot": 100, "strike": 105, "volatility": 0.2, "maturity": 1, "rate": 0.05}
PATHS_PER_BLOCK = 100_000
# Uniform(0, 1) means in blocks of 100: ±0.01 at 95 % needs about 32 blocks.
SLOW_BUDGET = {"samples": 10_000, "seconds_per_block": 0.05}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory.mktemp("precision"), SIMLAB_RUNNER_MAX_WORKERS="8")


@pytest.fixture
def alice(stack: Stack) -> Iterator[Client]:
    with Client(stack.url, token="alice-token") as client:
        yield client


@pytest.fixture
def bob(stack: Stack) -> Iterator[Client]:
    with Client(stack.url, token="bob-token") as client:
        yield client


def finished(client: Client, job: pb.Job) -> pb.Job:
    done = client.wait(job.job_id, progress=False)
    assert done.state == pb.JOB_STATE_SUCCEEDED, done.error.message
    return done


def states(job: pb.Job) -> list[int]:
    return [change.state for change in job.history]


@pytest.mark.timeout(600)
def test_the_stop_is_the_same_block_for_1_3_and_8_shards_and_the_summaries_are_identical(
    alice: Client,
) -> None:
    params = {**OPTION, "paths": 8_000_000}
    runs = [
        finished(
            alice,
            alice.submit(
                "european_option", params, shards=shards, seed=7, abs_tol=0.02, no_cache=True
            ),
        )
        for shards in (1, 3, 8)
    ]
    stops = [run.stop for run in runs]
    assert len({(s.first_block, s.end_block) for s in stops}) == 1, stops
    stop = stops[0]
    assert stop.reason == pb.STOP_REASON_PRECISION_REACHED
    assert stop.first_block == 0 and 10 <= stop.end_block < 80
    assert stop.samples_used == stop.end_block * PATHS_PER_BLOCK
    assert stop.half_width <= 0.02 and stop.confidence == pytest.approx(0.95)
    summaries = [alice.summary(run.job_id) for run in runs]
    assert summaries[0] == summaries[1] == summaries[2]
    summary = summaries[0]
    assert summary["stop_reason"] == "precision_reached"
    assert summary["half_width"] == stop.half_width
    assert summary["samples_used"] == stop.samples_used
    discarded = [s.blocks_discarded for s in stops]
    print(f"stopped at block {stop.end_block} of 80; blocks discarded (1/3/8 shards): {discarded}")


def test_a_shard_stops_drawing_blocks_soon_after_the_target_is_met(alice: Client) -> None:
    # 100 slow blocks of budget; the target is met near block 32 and the shard learns of it
    # on its next report (every 0.25 s: about 5 blocks of 0.05 s).
    run = finished(alice, alice.submit("test_slow", SLOW_BUDGET, seed=3, abs_tol=0.01))
    assert run.stop.reason == pb.STOP_REASON_PRECISION_REACHED
    assert 10 <= run.stop.end_block <= 60
    assert run.stop.blocks_discarded <= 15, run.stop
    assert run.progress.blocks_done == run.stop.end_block + run.stop.blocks_discarded
    assert run.stop.half_width <= 0.01


def test_an_unreachable_target_runs_the_whole_budget(alice: Client) -> None:
    run = finished(
        alice, alice.submit("european_option", {**OPTION, "paths": 500_000}, seed=2, rel_tol=1e-6)
    )
    assert run.stop.reason == pb.STOP_REASON_BUDGET_EXHAUSTED
    assert (run.stop.first_block, run.stop.end_block) == (0, 5)
    assert alice.summary(run.job_id)["stop_reason"] == "budget_exhausted"


def test_two_stage_takes_the_interval_from_fresh_blocks_after_the_pilot(alice: Client) -> None:
    run = finished(
        alice,
        alice.submit(
            "european_option",
            {**OPTION, "paths": 8_000_000},
            seed=4,
            abs_tol=0.05,
            two_stage=True,
            shards=2,
        ),
    )
    assert run.stop.reason == pb.STOP_REASON_PRECISION_REACHED
    assert run.stop.first_block == 10 < run.stop.end_block
    summary = alice.summary(run.job_id)
    assert summary["samples_used"] == (run.stop.end_block - 10) * PATHS_PER_BLOCK


def test_a_two_stage_run_learns_its_end_from_the_pilot_and_stops_there(alice: Client) -> None:
    # Slow blocks: the worker reports several times after the pilot decided the end, so it
    # reaches the end with blocks not yet reported (they must be, for the shard to finish).
    run = finished(
        alice, alice.submit("test_slow", SLOW_BUDGET, seed=5, abs_tol=0.01, two_stage=True)
    )
    assert run.stop.reason == pb.STOP_REASON_PRECISION_REACHED
    assert 10 == run.stop.first_block < run.stop.end_block < 100
    assert run.stop.blocks_discarded == 0
    assert run.progress.blocks_done == run.stop.end_block


def test_bad_precision_is_invalid_argument_naming_the_field(alice: Client) -> None:
    for kwargs, field in [
        ({"rel_tol": -1.0}, "precision.rel_tol"),
        ({"abs_tol": 0.1, "confidence": 1.5}, "precision.confidence"),
        ({"abs_tol": 0.1, "min_blocks": 1}, "precision.min_blocks"),
    ]:
        with pytest.raises(SimlabError) as caught:
            alice.submit("european_option", OPTION, **kwargs)  # type: ignore[arg-type]
        assert caught.value.code == Code.INVALID_ARGUMENT
        assert caught.value.field == field


@pytest.mark.timeout(300)
def test_a_rerun_is_served_from_the_cache_at_once_without_a_worker(
    alice: Client, bob: Client
) -> None:
    params = {**OPTION, "paths": 1_000_000}
    source = finished(alice, alice.submit("european_option", params, seed=11, abs_tol=0.05))
    latencies, hits = [], []
    for _ in range(5):
        started = time.perf_counter()
        hit = alice.submit("european_option", params, seed=11, abs_tol=0.05)
        latencies.append(time.perf_counter() - started)
        hits.append(hit)
    for hit in hits:
        assert hit.state == pb.JOB_STATE_SUCCEEDED and hit.cached_from == source.job_id
        # No worker ran: the job never launched.
        assert states(hit) == [pb.JOB_STATE_SUCCEEDED], hit.history
        assert hit.stop == source.stop
    assert alice.summary(hits[0].job_id) == alice.summary(source.job_id)
    assert [a.name for a in alice.artifacts(hits[0].job_id)] == [
        a.name for a in alice.artifacts(source.job_id)
    ]
    assert alice.read(hits[0].job_id, "data.csv") == alice.read(source.job_id, "data.csv")
    print(f"cache hit, submit to SUCCEEDED: median {statistics.median(latencies) * 1000:.1f} ms")
    assert min(latencies) <= 0.2, latencies

    # A change of seed, precision or parameters, or --no-cache, runs.
    for changed in (
        alice.submit("european_option", params, seed=12, abs_tol=0.05),
        alice.submit("european_option", params, seed=11, abs_tol=0.04),
        alice.submit("european_option", {**params, "strike": 106}, seed=11, abs_tol=0.05),
        alice.submit("european_option", params, seed=11, abs_tol=0.05, no_cache=True),
        alice.submit("european_option", params, abs_tol=0.05),  # a random seed
    ):
        assert not changed.cached_from and changed.state == pb.JOB_STATE_QUEUED
        finished(alice, changed)


@pytest.mark.timeout(300)
def test_the_cache_does_not_cross_users_for_private_models(
    alice: Client, bob: Client, tmp_path: Path
) -> None:
    entry = tmp_path / "uniform.py"
    entry.write_text("def simulate(rng, n):\n    return rng.random(n)\n")
    mine = alice.push_model(entry, name="alices_uniform")
    theirs = bob.push_model(entry, name="bobs_uniform")
    assert mine.code_sha256 == theirs.code_sha256
    source = finished(alice, alice.submit("alices_uniform", {"samples": 200_000}, seed=5))
    assert alice.submit("alices_uniform", {"samples": 200_000}, seed=5).cached_from == (
        source.job_id
    )
    other = bob.submit("bobs_uniform", {"samples": 200_000}, seed=5)
    assert not other.cached_from
    finished(bob, other)


@pytest.mark.timeout(600)
def test_a_top_up_computes_only_the_missing_blocks_and_equals_a_fresh_run(
    alice: Client,
) -> None:
    source = finished(
        alice, alice.submit("european_option", {**OPTION, "paths": 1_000_000}, seed=21, shards=2)
    )
    extended = finished(alice, alice.extend(source.job_id, samples=2_500_000, shards=3))
    assert extended.extends == source.job_id
    fresh = finished(
        alice,
        alice.submit(
            "european_option", {**OPTION, "paths": 2_500_000}, seed=21, shards=1, no_cache=True
        ),
    )
    assert alice.summary(extended.job_id) == alice.summary(fresh.job_id)
    assert alice.read(extended.job_id, "data.csv") == alice.read(fresh.job_id, "data.csv")
    # Ten blocks reused, fifteen computed: the workers said how many they ran.
    assert "10 blocks reused" in extended.history[0].reason, extended.history[0]
    assert ran_blocks(alice, extended) == 15
    assert ran_blocks(alice, fresh) == 25

    # Tighten a precision run: the new target reuses every block of the first.
    loose = finished(
        alice,
        alice.submit("european_option", {**OPTION, "paths": 8_000_000}, seed=22, abs_tol=0.05),
    )
    tight = finished(alice, alice.extend(loose.job_id, abs_tol=0.02))
    again = finished(
        alice,
        alice.submit(
            "european_option", {**OPTION, "paths": 8_000_000}, seed=22, abs_tol=0.02, no_cache=True
        ),
    )
    assert tight.stop.end_block == again.stop.end_block > loose.stop.end_block
    assert alice.summary(tight.job_id) == alice.summary(again.job_id)

    with pytest.raises(SimlabError) as running:
        alice.extend(alice.submit("test_slow", SLOW_BUDGET).job_id, samples=20_000)
    assert running.value.code == Code.FAILED_PRECONDITION


def ran_blocks(client: Client, job: pb.Job) -> int:
    """Blocks the job's workers computed, as each shard's log says ("shard i/n: N block(s) of
    ... to run"). The logs of a finished job are stored as its workers exit: wait for them."""
    deadline = time.monotonic() + 30
    while True:
        logs: dict[int, bytes] = {}
        for chunk in client.logs(job.job_id):
            logs[chunk.shard] = logs.get(chunk.shard, b"") + chunk.data
        counts = [
            int(line.split(": ", 1)[1].split(" block", 1)[0])
            for text in logs.values()
            for line in text.decode().splitlines()
            if " block(s) of " in line and "to run" in line
        ]
        if len(counts) == job.shards or time.monotonic() > deadline:
            assert len(counts) == job.shards, logs
            return sum(counts)
        time.sleep(0.2)


@pytest.mark.timeout(600)
def test_kill_9_of_the_job_store_and_the_runner_mid_decision_changes_nothing(
    stack: Stack, alice: Client
) -> None:
    params = {"samples": 20_000, "seconds_per_block": 0.1}
    job = alice.submit("test_slow", params, seed=31, shards=2, abs_tol=0.01)
    for event in alice.watch(job.job_id):
        if event.job.progress.blocks_done >= 12:
            break
    stack.kill("jobstore")
    stack.kill("runner")
    time.sleep(1)
    stack.start_service("jobstore")
    stack.start_service("runner")
    survived = finished(alice, job)
    fresh = finished(
        alice, alice.submit("test_slow", params, seed=31, shards=3, abs_tol=0.01, no_cache=True)
    )
    decided = [
        (s.reason, s.first_block, s.end_block, s.half_width) for s in (survived.stop, fresh.stop)
    ]
    assert decided[0] == decided[1]
    assert alice.summary(survived.job_id) == alice.summary(fresh.job_id)


@pytest.mark.timeout(300)
def test_a_users_function_stops_at_its_target(alice: Client, tmp_path: Path) -> None:
    entry = tmp_path / "normal.py"
    entry.write_text(
        textwrap.dedent("""
            BLOCK_SIZE = 10_000
            SAMPLES = 5_000_000

            def simulate(rng, n, *, mu: float = 1.0):
                return rng.normal(mu, 1.0, n)
        """)
    )
    alice.push_model(entry, name="normal_mean")
    run = finished(alice, alice.submit("normal_mean", {"mu": 2.0}, seed=8, rel_tol=0.005))
    # sd 1, ±0.01 at 95 %: about 38,400 samples, 4 blocks; the pilot of 10 comes first.
    assert run.stop.reason == pb.STOP_REASON_PRECISION_REACHED
    assert run.stop.end_block == 10
    summary = alice.summary(run.job_id)
    assert abs(summary["value"] - 2.0) <= 4 * summary["value_stderr"]
    assert summary["half_width"] <= 0.005 * abs(summary["value"])
    assert math.isclose(summary["half_width"], 1.959964 * summary["value_stderr"], rel_tol=1e-5)
