"""The engine's promise: the same seed gives bit-identical results whatever the number of
shards, because block i always draws from the same stream and blocks merge in block order."""

import csv
import io
import json
from typing import Any

import numpy as np
import pytest

from simlab.core.params import validate
from simlab.core.precision import Precision, Stop, StopReason
from simlab.core.stats import Moments, Stats
from simlab.models import european_option, mm1_queue, pi, rosenbrock
from simlab.models.base import Model, Output, Param
from simlab.transport.stats import from_proto, to_proto
from simlab_worker.core import artifacts
from simlab_worker.core.engine import ModelError, Run, finalize, run_block, run_blocks

# Small runs of at least five blocks each, so five shards all get work.
SMALL_RUNS: list[tuple[Model, dict[str, Any]]] = [
    (european_option.MODEL, {"spot": 100.0, "strike": 95.0, "paths": 450_000}),
    (pi.MODEL, {"samples": 4_500_000}),
    (rosenbrock.MODEL, {"dimensions": 2, "starts": 36}),
    (mm1_queue.MODEL, {"arrival_rate": 0.7, "service_rate": 1.0, "customers": 3000}),
]


def plan(model: Model, given: dict, seed: int) -> Run:
    return Run.plan(model, validate(model, given), seed)


def run_sharded(run: Run, shards: int):
    """Each shard runs its blocks; the job store hands the finalizing shard every block (here
    through the same wire format) in whatever order the shards reported them."""
    reported = []
    for shard in reversed(range(shards)):
        for block, stats in run_blocks(run, run.remaining_blocks(shard, shards, set())):
            reported.append(from_proto(to_proto(block, stats)))
    return finalize(run, reported)


@pytest.mark.parametrize(("model", "given"), SMALL_RUNS, ids=lambda v: getattr(v, "name", ""))
@pytest.mark.parametrize("seed", [7, 123])
def test_results_are_bit_identical_for_any_number_of_shards(model, given, seed):
    run = plan(model, given, seed)
    assert run.blocks_total >= 5
    results = {shards: run_sharded(run, shards) for shards in (1, 2, 3, 5)}
    single = results[1]
    for shards, result in results.items():
        assert result.summary == single.summary, f"{shards} shards"
        assert np.array_equal(result.convergence.estimate, single.convergence.estimate)
        assert np.array_equal(result.convergence.stderr, single.convergence.stderr, equal_nan=True)
        assert result.stats == single.stats
    assert single.summary[model.primary_output] == single.convergence.estimate[-1]


def test_another_seed_gives_another_result():
    model, given = SMALL_RUNS[0]
    assert (
        run_sharded(plan(model, given, 7), 1).summary
        != run_sharded(plan(model, given, 8), 1).summary
    )


@pytest.mark.parametrize("seed", [7, 123])
def test_block_i_draws_from_the_ith_spawned_seed(seed):
    run = plan(european_option.MODEL, {"spot": 100.0, "strike": 95.0, "paths": 250_000}, seed)
    children = np.random.SeedSequence(seed).spawn(run.blocks_total)
    for block in range(run.blocks_total):
        n = min(run.block_size, run.samples_total - block * run.block_size)
        rng = np.random.Generator(np.random.PCG64(children[block]))
        assert run_block(run, block) == run.model.simulate(run.params, rng, n)


def test_remaining_blocks_skip_those_already_recorded():
    run = plan(pi.MODEL, {"samples": 10_000_000}, 1)
    assert run.remaining_blocks(1, 3, set()) == [1, 4, 7]
    assert run.remaining_blocks(1, 3, {1, 7}) == [4]


def test_convergence_follows_block_order():
    run = plan(european_option.MODEL, {"spot": 100.0, "strike": 95.0, "paths": 250_000}, 3)
    result = finalize(run, list(run_blocks(run, range(run.blocks_total))))
    assert result.convergence.samples.tolist() == [100_000, 200_000, 250_000]
    first = run_block(run, 0).moments["price"]
    assert result.convergence.estimate[0] == first.mean
    assert result.convergence.stderr[0] == first.stderr


def test_finalize_needs_every_block_once():
    run = plan(pi.MODEL, {"samples": 3_000_000}, 1)
    blocks = list(run_blocks(run, range(3)))
    with pytest.raises(ValueError, match="missing \\[1\\]"):
        finalize(run, [blocks[0], blocks[2]])
    with pytest.raises(ValueError):
        finalize(run, [*blocks, blocks[1]])


def test_with_a_precision_target_finalize_merges_exactly_the_blocks_of_the_stop():
    budget = plan(pi.MODEL, {"samples": 6_000_000}, 1)
    run = Run(budget.model, budget.params, 1, budget.block_size, 6_000_000, Precision.of(0.1))
    blocks = list(run_blocks(run, range(6)))
    stop = Stop(StopReason.PRECISION_REACHED, 2, 5)
    result = finalize(run, blocks[2:5], stop)
    assert result.convergence.samples.tolist() == [1_000_000, 2_000_000, 3_000_000]
    assert result.summary["blocks_used"] == 3
    with pytest.raises(ValueError, match="missing \\[4\\]"):
        finalize(run, blocks[2:4], stop)
    with pytest.raises(ValueError, match=r"blocks 2\.\.4 once each"):
        finalize(run, blocks, stop)
    with pytest.raises(ValueError, match="once its stop is decided"):
        finalize(run, blocks)
    with pytest.raises(ValueError, match="not within the run's"):
        finalize(run, blocks, Stop(StopReason.BUDGET_EXHAUSTED, 0, 7))


def broken_model(simulate=None, summarize=None) -> Model:
    def fine_simulate(params, rng, n):
        return Stats(n, {"value": Moments.of(rng.random(n))})

    return Model(
        name="broken",
        title="Broken",
        description="Fails on purpose.",
        parameters=(Param("n", "N", "int", default=10, minimum=1, sample_count=True),),
        outputs=(Output("value", "Value"),),
        primary_output="value",
        block_size=lambda params: 4,
        simulate=simulate or fine_simulate,
        summarize=summarize or (lambda params, stats: {"value": stats.moments["value"].mean}),
    )


def test_a_model_exception_is_a_model_error_with_its_cause():
    def simulate(params, rng, n):
        return 1 / 0

    run = Run.plan(broken_model(simulate=simulate), {"n": 10}, 1)
    with pytest.raises(ModelError) as caught:
        run_block(run, 0)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_a_block_without_the_primary_output_is_a_model_error():
    run = Run.plan(broken_model(simulate=lambda params, rng, n: Stats(n)), {"n": 10}, 1)
    with pytest.raises(ModelError) as caught:
        run_block(run, 0)
    assert "value" in str(caught.value.__cause__)


def test_a_failing_summary_is_a_model_error():
    def summarize(params, stats):
        raise KeyError("price")

    run = Run.plan(broken_model(summarize=summarize), {"n": 10}, 1)
    with pytest.raises(ModelError):
        finalize(run, list(run_blocks(run, range(run.blocks_total))))


def test_numbers_json_cannot_carry_become_null():
    run = Run.plan(
        broken_model(
            summarize=lambda params, stats: {"value": np.float64(np.nan), "n": np.int64(3)}
        ),
        {"n": 3},
        1,
    )
    result = finalize(run, list(run_blocks(run, range(run.blocks_total))))
    assert result.summary == {"value": None, "n": 3}
    assert type(result.summary["n"]) is int


def read_csv(data: bytes) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode())))
    return {name: [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])}


@pytest.mark.parametrize(("model", "given"), SMALL_RUNS, ids=lambda v: getattr(v, "name", ""))
def test_the_artifacts_of_a_run(model, given):
    run = plan(model, given, 11)
    result = finalize(run, list(run_blocks(run, range(run.blocks_total))))
    files = artifacts.build("j-1", run, 3, result)

    names = ["plot.png", "data.csv", "data.npz", "convergence.csv", "chart.json", "summary.json"]
    assert sorted(files) == sorted(names)

    def read(name: str) -> bytes:
        return files[name]

    assert read("plot.png").startswith(b"\x89PNG\r\n\x1a\n")

    data = read_csv(read("data.csv"))
    assert list(data) == list(result.data)
    for name, column in result.data.items():
        parsed = np.array(data[name], dtype=column.dtype)
        assert np.array_equal(parsed, column), name

    with np.load(io.BytesIO(read("data.npz"))) as npz:
        for name, column in result.data.items():
            assert np.array_equal(npz[name], column)
        assert np.array_equal(npz["convergence_estimate"], result.convergence.estimate)
        assert np.array_equal(npz["convergence_samples"], result.convergence.samples)

    convergence = read_csv(read("convergence.csv"))
    assert [float(v) for v in convergence["estimate"]] == result.convergence.estimate.tolist()
    assert [int(v) for v in convergence["samples"]] == result.convergence.samples.tolist()

    summary = json.loads(read("summary.json"))
    assert summary["summary"] == result.summary
    assert summary["model"] == model.name
    assert (summary["seed"], summary["shards"], summary["samples"]) == (11, 3, run.samples_total)
    assert summary["parameters"] == dict(run.params)

    chart = json.loads(read("chart.json"))
    assert chart["primary"]["name"] == model.primary_output
    assert chart["convergence"]["estimate"] == result.convergence.estimate.tolist()
    assert [h["name"] for h in chart["histograms"]] == sorted(result.stats.histograms)
    for histogram in chart["histograms"]:
        assert len(histogram["edges"]) == len(histogram["counts"]) + 1
    if model.reference:
        assert chart["reference"]["value"] == result.summary[model.reference]


def test_a_single_block_run_has_no_stderr_yet_its_artifacts_are_valid_json():
    run = plan(mm1_queue.MODEL, {"customers": 1000}, 1)
    one_block = Run(run.model, run.params, run.seed, run.samples_total, run.samples_total)
    result = finalize(one_block, list(run_blocks(one_block, [0])))
    assert result.summary["stderr"] is None
    files = artifacts.build("j-2", one_block, 1, result)
    assert json.loads(files["chart.json"])["convergence"]["stderr"] == [None]


def test_long_convergence_series_are_thinned_for_the_chart():
    points = artifacts._chart_points(100_000)
    assert len(points) <= artifacts.CHART_POINTS
    assert points[0] == 0 and points[-1] == 99_999
    assert np.all(np.diff(points) > 0)
