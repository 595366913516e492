"""Function-form models run as the engine runs them: blocks from simlab.core.blocks, each
through Model.simulate, merged in block order. The statistics are the platform's own."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from simlab.core.blocks import block_rng, block_samples, blocks_total, shard_blocks
from simlab.core.params import validate
from simlab.core.stats import Stats, merge_in_order
from simlab.models.base import Model
from simlab.transport.stats import from_proto, to_proto
from simlab.v1 import simulation_pb2 as pb

if TYPE_CHECKING:
    from conftest import UserCode

# The example of issue 11, with a body: the geometric average of the monitored prices.
ASIAN = '''
    """Geometric-average Asian call (the module docstring is the model's description)."""
    import numpy as np

    SAMPLES = 200_000
    BLOCK_SIZE = 20_000


    def simulate(rng: np.random.Generator, n: int, *, spot: float = 100.0, strike: float = 100.0,
                 rate: float = 0.05, volatility: float = 0.2, maturity: float = 1.0,
                 steps: int = 12) -> np.ndarray:
        dt = maturity / steps
        increments = rng.standard_normal((n, steps))
        increments *= volatility * np.sqrt(dt)
        increments += (rate - 0.5 * volatility**2) * dt
        log_average = np.log(spot) + np.cumsum(increments, axis=1).mean(axis=1)
        return np.exp(-rate * maturity) * np.maximum(np.exp(log_average) - strike, 0.0)
'''


def geometric_asian_call(
    spot: float, strike: float, rate: float, volatility: float, maturity: float, steps: int
) -> float:
    """Closed form: log of the geometric average of S at T/m, 2T/m, ..., T is normal."""
    mean = math.log(spot) + (rate - 0.5 * volatility**2) * maturity * (steps + 1) / (2 * steps)
    spread = volatility * math.sqrt(maturity * (steps + 1) * (2 * steps + 1) / (6 * steps**2))
    d1 = (mean - math.log(strike) + spread**2) / spread
    d2 = d1 - spread

    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    forward = math.exp(mean + 0.5 * spread**2)
    return math.exp(-rate * maturity) * (forward * cdf(d1) - strike * cdf(d2))


def run_blocks(model: Model, params: dict[str, Any], seed: int, blocks: list[int]) -> list[Stats]:
    """What a worker's shard computes for `blocks`."""
    samples = int(params[model.sample_param.name])
    size = model.block_size(params)
    return [
        model.simulate(params, block_rng(seed, b), block_samples(b, samples, size)) for b in blocks
    ]


def run(model: Model, params: dict[str, Any], seed: int = 7) -> tuple[Stats, dict[str, Any]]:
    samples = int(params[model.sample_param.name])
    total = blocks_total(samples, model.block_size(params))
    merged = merge_in_order(run_blocks(model, params, seed, list(range(total))))
    return merged, model.summarize(params, merged)


def test_asian_call_matches_its_closed_form(user_code: UserCode) -> None:
    model = user_code.load(ASIAN, name="asian").model
    assert model is not None
    # As the job store hands them over: every number a float.
    params = validate(model, {"samples": 200_000.0, "steps": 12.0, "volatility": 0.3})
    assert model.block_size(params) == 20_000

    merged, summary = run(model, params)

    exact = geometric_asian_call(100.0, 100.0, 0.05, 0.3, 1.0, 12)
    assert merged.samples == summary["samples"] == 200_000
    assert abs(summary["value"] - exact) < 4 * summary["value_stderr"]
    lo, hi = summary["value_ci95"]
    assert lo < summary["value"] < hi
    assert hi - lo == pytest.approx(2 * 1.96 * summary["value_stderr"], rel=1e-3)


def test_int_parameters_reach_the_function_as_ints(user_code: UserCode) -> None:
    model = user_code.load(
        """
        import numpy as np

        def simulate(rng, n, *, steps: int = 3, scale: float = 2):
            assert type(steps) is int and type(scale) is float, (steps, scale)
            return np.full(n, steps * scale)
        """
    ).model
    assert model is not None
    stats = model.simulate({"steps": 4.0, "scale": 1, "samples": 10.0}, block_rng(0, 0), 10)
    assert stats.moments["value"].mean == 4.0


def test_the_schema_and_outputs_of_the_asian_call(user_code: UserCode) -> None:
    model = user_code.inspect(ASIAN, name="asian")
    assert model.kind == pb.MODEL_KIND_BLOCKS
    assert (
        model.title
        == "Geometric-average Asian call (the module docstring is the model's description)."
    )
    assert [p.name for p in model.parameters] == [
        "spot", "strike", "rate", "volatility", "maturity", "steps", "samples",
    ]  # fmt: skip
    samples = model.parameters[-1]
    assert samples.is_sample_count and samples.type == pb.PARAMETER_TYPE_INT
    assert samples.default.number_value == 200_000 and samples.minimum == 1
    assert model.block_size == 20_000
    assert model.primary_output == "value"
    assert [o.name for o in model.outputs] == ["value", "value_stderr", "value_ci95", "samples"]
    assert model.imports == ["numpy"]
    assert model.reproducible and not model.warnings
    assert model.entry == "model.py" and list(model.files) == ["model.py"]


def test_a_dict_return_gives_one_output_per_key_the_first_primary(user_code: UserCode) -> None:
    code = """
        import numpy as np

        def simulate(rng, n, *, mean: float = 1.0):
            x = rng.normal(mean, 1.0, n)
            return {"x": x, "x_squared": x * x, "positive": (x > 0).astype(float)}
    """
    inspected = user_code.inspect(code)
    assert inspected.primary_output == "x"
    assert [o.name for o in inspected.outputs][:4] == ["x", "x_stderr", "x_ci95", "x_squared"]

    model = user_code.load(code).model
    assert model is not None
    params = validate(model, {"samples": 50_000})
    merged, summary = run(model, params)
    assert set(merged.moments) == {"x", "x_squared", "positive"}
    assert set(merged.histograms) == {"x"}
    assert set(summary) == {
        f"{name}{suffix}"
        for name in ("x", "x_squared", "positive")
        for suffix in ("", "_stderr", "_ci95")
    } | {"samples"}
    assert abs(summary["x"] - 1.0) < 4 * summary["x_stderr"]
    assert abs(summary["x_squared"] - 2.0) < 4 * summary["x_squared_stderr"]


def test_data_is_the_histogram_of_the_primary_output(user_code: UserCode) -> None:
    model = user_code.load(ASIAN).model
    assert model is not None
    params = validate(model, {"samples": 40_000})
    merged, _ = run(model, params)
    data = model.data(params, merged)
    assert list(data) == ["bin_lo", "bin_hi", "count"]
    assert len(data["count"]) == 50
    np.testing.assert_array_equal(data["bin_lo"][1:], data["bin_hi"][:-1])
    histogram = merged.histograms["value"]
    # The pilot's range is widened: the pilot's extremes are inside; a few samples of the run
    # may still fall outside.
    assert histogram.lo < 0 and histogram.below == 0
    assert int(data["count"].sum()) + histogram.above == 40_000


def test_shards_give_bit_identical_statistics(user_code: UserCode) -> None:
    """Blocks in one order in one process, or dealt to two shards (each its own load, its own
    pilot) in another order and sent through the wire format: the same merged Stats, bit for
    bit."""
    code = ASIAN.replace("BLOCK_SIZE = 20_000", "BLOCK_SIZE = 7_000")
    one = user_code.load(code).model
    assert one is not None
    params = validate(one, {"samples": 100_000, "steps": 6})
    seed = 12345
    total = blocks_total(100_000, one.block_size(params))
    single = merge_in_order(run_blocks(one, params, seed, list(range(total))))

    by_block: dict[int, Stats] = {}
    for shard in (1, 0):
        model = user_code.load(code).model  # another worker process: another pilot
        assert model is not None
        blocks = list(reversed(shard_blocks(shard, 2, total)))
        for block, stats in zip(blocks, run_blocks(model, params, seed, blocks), strict=True):
            # As reported to the job store and handed back to the finalizing shard.
            index, received = from_proto(to_proto(block, stats))
            by_block[index] = received
    sharded = merge_in_order(by_block[b] for b in sorted(by_block))

    assert repr(sharded) == repr(single)
    assert sharded == single
    assert one.summarize(params, sharded) == one.summarize(params, single)


def test_a_different_seed_gives_different_samples_but_the_pilot_stays_per_seed(
    user_code: UserCode,
) -> None:
    model = user_code.load(ASIAN).model
    assert model is not None
    params = validate(model, {"samples": 20_000})
    a = run_blocks(model, params, 1, [0])[0]
    b = run_blocks(model, params, 2, [0])[0]
    assert a.moments["value"] != b.moments["value"]
    assert a.histograms["value"].lo != b.histograms["value"].lo
    assert run_blocks(model, params, 1, [1])[0].histograms["value"].lo == a.histograms["value"].lo
