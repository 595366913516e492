import math

import pytest

from simlab.core.blocks import block_rng
from simlab.core.params import validate
from simlab.core.stats import Histogram, Minimum, Moments, Stats, merge_in_order
from simlab.models import european_option, mm1_queue, rosenbrock
from simlab.transport.stats import from_proto, to_proto
from simlab.v1 import stats_pb2


def over_the_wire(block: int, stats: Stats) -> tuple[int, Stats]:
    wire = to_proto(block, stats).SerializeToString()
    return from_proto(stats_pb2.BlockStats.FromString(wire))


def test_every_field_survives_exactly():
    stats = Stats(
        samples=12,
        moments={"x": Moments(12, 0.1 + 0.2, 1 / 3), "y": Moments()},
        minima={"best": Minimum(-1e-300, (math.pi, -0.0, 1e308)), "none": Minimum()},
        counts={"hits": 7, "big": 2**62},
        histograms={"h": Histogram(-1.5, 2.5, (0, 3, 2**40), 1, 2)},
    )
    assert over_the_wire(41, stats) == (41, stats)


def test_empty_stats_survive():
    assert over_the_wire(0, Stats()) == (0, Stats())


@pytest.mark.parametrize(
    ("model", "given"),
    [
        (european_option.MODEL, {"spot": 100.0, "strike": 90.0, "paths": 500}),
        (rosenbrock.MODEL, {"dimensions": 3, "starts": 2}),
        (mm1_queue.MODEL, {"customers": 5000}),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_model_blocks_survive_and_merge_to_the_same_bits(model, given):
    params = validate(model, given)
    size = model.block_size(params)
    blocks = [model.simulate(params, block_rng(5, b), size) for b in range(3)]
    received = [over_the_wire(b, s)[1] for b, s in enumerate(blocks)]
    assert received == blocks
    assert merge_in_order(received) == merge_in_order(blocks)
