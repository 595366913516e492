"""A study's spec expanded into points (core.studies), pure: the designs, the seeds, and every
refusal naming the spec's field (and the point, where it depends on one)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from simlab.common.errors import Code, SimlabError, invalid
from simlab.core.precision import DEFAULT_CONFIDENCE, DEFAULT_MIN_BLOCKS
from simlab.core.stats import Moments, Stats
from simlab.models.base import Model, Output, Param, Params
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.studies import StudyPlan, StudyRequest, plan_study, point_seed
from simlab_gateway.core.submission import Runnable


def _steps_fit(params: Params) -> None:
    if params["steps"] > params["samples"]:
        raise invalid("parameters.steps", "must be at most samples")


OPTION = Model(
    name="option",
    title="Option",
    description="",
    parameters=(
        Param("samples", "Samples", "int", 1000, minimum=1, sample_count=True),
        Param("volatility", "Volatility", "float", 0.2, minimum=0, exclusive_minimum=True),
        Param("strike", "Strike", "float", None, minimum=0),
        Param("steps", "Steps", "int", 12, minimum=1, maximum=365),
        Param("method", "Method", "choice", "euler", choices=("euler", "exact")),
        Param("antithetic", "Antithetic", "bool", False),
    ),
    outputs=(Output("price", "Price"),),
    primary_output="price",
    block_size=lambda params: min(int(params["samples"]), 500),
    simulate=lambda params, rng, n: Stats(n, {"price": Moments.of(rng.random(n))}),
    summarize=lambda params, stats: {},
    check=_steps_fit,
)
OPTION_V2 = Runnable("option", 2, "c" * 64, OPTION)
MAX_POINTS = 100
MAX_SHARDS = 8


def values(parameter: str, *items: Any) -> pb.StudyAxis:
    axis = pb.StudyAxis(parameter=parameter, values=pb.StudyValues())
    for item in items:
        axis.values.values.add().CopyFrom(_value(item))
    return axis


def _value(item: Any) -> Any:
    from google.protobuf import struct_pb2

    value = struct_pb2.Value()
    if isinstance(item, bool):
        value.bool_value = item
    elif isinstance(item, int | float):
        value.number_value = item
    elif isinstance(item, str):
        value.string_value = item
    else:
        value.null_value = struct_pb2.NULL_VALUE
    return value


def span(
    parameter: str, start: float, stop: float, count: int = 0, log: bool = False
) -> pb.StudyAxis:
    return pb.StudyAxis(
        parameter=parameter, range=pb.StudyRange(start=start, stop=stop, count=count, log=log)
    )


def request(*axes: pb.StudyAxis, fixed: dict[str, Any] | None = None, **spec: Any) -> StudyRequest:
    """A study of option with `fixed` (by default strike 100, unless swept) and the axes'
    values decoded as the transport decodes them."""
    if fixed is None:
        fixed = {} if any(axis.parameter == "strike" for axis in axes) else {"strike": 100.0}
    given = pb.StudySpec(model="option", axes=axes, **spec)
    decoded = tuple(
        tuple(_plain(v) for v in axis.values.values) if axis.HasField("values") else None
        for axis in axes
    )
    return StudyRequest(given, fixed, decoded, "")


def _plain(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    return None if kind == "null_value" else getattr(value, kind)


def plan(study: StudyRequest, runnable: Runnable = OPTION_V2) -> StudyPlan:
    return plan_study(runnable, study, MAX_POINTS, MAX_SHARDS)


def refusal(study: StudyRequest, runnable: Runnable = OPTION_V2) -> SimlabError:
    with pytest.raises(SimlabError) as caught:
        plan(study, runnable)
    error = caught.value
    assert error.code == Code.INVALID_ARGUMENT
    assert error.field is not None and error.message.startswith(f"{error.field}: ")
    return error


def swept(result: StudyPlan) -> list[tuple[Any, ...]]:
    return [tuple(p.parameters[name] for name in result.swept) for p in result.points]


def test_a_grid_is_every_combination_of_the_axes_values_first_axis_slowest() -> None:
    result = plan(request(values("strike", 90, 110), span("volatility", 0.1, 0.3, count=3)))
    assert result.swept == ("strike", "volatility")
    assert swept(result) == [
        (90.0, 0.1),
        (90.0, 0.2),
        (90.0, 0.3),
        (110.0, 0.1),
        (110.0, 0.2),
        (110.0, 0.3),
    ]
    # Every parameter of each point's run, its defaults filled in, as a submission's.
    assert result.points[0].parameters == {
        "samples": 1000,
        "volatility": 0.1,
        "strike": 90.0,
        "steps": 12,
        "method": "euler",
        "antithetic": False,
    }
    assert (result.model, result.model_version, result.code_sha256) == ("option", 2, "c" * 64)
    assert result.primary_output == "price"


def test_a_log_range_is_evenly_spaced_in_log_and_an_integer_range_rounds() -> None:
    result = plan(request(span("volatility", 0.01, 1.0, count=3, log=True)))
    assert [p.parameters["volatility"] for p in result.points] == pytest.approx([0.01, 0.1, 1.0])
    result = plan(request(span("steps", 1, 10, count=4)))
    assert swept(result) == [(1,), (4,), (7,), (10,)]
    assert all(isinstance(p.parameters["steps"], int) for p in result.points)


def test_each_points_blocks_come_from_its_own_sample_count() -> None:
    result = plan(request(values("samples", 300, 1000, 5000)))
    assert [(p.samples_total, p.block_size) for p in result.points] == [
        (300, 300),
        (1000, 500),
        (5000, 500),
    ]


def test_a_study_seed_of_zero_is_drawn_and_recorded_and_each_point_derives_its_own() -> None:
    result = plan(request(values("strike", 90, 100, 110)))
    seed = result.spec.seed
    assert 0 < seed < 2**63
    seeds = [p.seed for p in result.points]
    assert seeds == [point_seed(seed, i) for i in range(3)]
    assert len(set(seeds)) == 3 and seed not in seeds
    # The same study seed gives the same point seeds: a resubmitted study reproduces.
    again = plan(request(values("strike", 90, 100, 110), seed=seed))
    assert [p.seed for p in again.points] == seeds


def test_a_point_seed_is_the_first_8_bytes_of_sha256_as_a_nonzero_63_bit_number() -> None:
    digest = hashlib.sha256(b"42:7").digest()
    assert point_seed(42, 7) == int.from_bytes(digest[:8], "big") >> 1
    assert all(0 < point_seed(42, i) < 2**63 for i in range(1000))


def test_common_random_numbers_give_every_point_the_study_seed() -> None:
    result = plan(request(values("strike", 90, 100, 110), seed=42, crn=True))
    assert [p.seed for p in result.points] == [42, 42, 42]


def test_the_recorded_spec_has_its_shards_and_precision_defaults_filled_in() -> None:
    result = plan(
        request(
            values("strike", 90),
            seed=5,
            precision=pb.Precision(rel_tol=0.01),
            no_cache=True,
            title="skew",
        )
    )
    spec = result.spec
    assert (spec.seed, spec.shards, spec.no_cache, spec.title) == (5, 1, True, "skew")
    assert spec.precision == pb.Precision(
        rel_tol=0.01, confidence=DEFAULT_CONFIDENCE, min_blocks=DEFAULT_MIN_BLOCKS
    )
    assert plan(request(values("strike", 90), shards=2)).spec.shards == 2


def test_a_sobol_design_is_a_scrambled_sobol_sequence_within_the_ranges() -> None:
    study = request(
        span("volatility", 0.1, 0.5), span("steps", 1, 100), design=pb.STUDY_DESIGN_SOBOL
    )
    study.spec.points, study.spec.seed = 16, 7
    result = plan(study)
    points = swept(result)
    assert len(points) == 16
    assert all(0.1 <= v <= 0.5 and 1 <= s <= 100 and isinstance(s, int) for v, s in points)
    # 16 Sobol points (a net): exactly one in each sixteenth of the volatility range.
    bins = sorted(int((v - 0.1) / 0.4 * 16) for v, _ in points)
    assert bins == list(range(16))
    # Seeded: the same spec gives the same points, another seed others.
    assert swept(plan(study)) == points
    study.spec.seed = 8
    assert swept(plan(study)) != points


def test_a_random_design_draws_uniformly_from_the_study_seed() -> None:
    study = request(
        span("volatility", 0.1, 0.5),
        span("strike", 1, 1000, log=True),
        design=pb.STUDY_DESIGN_RANDOM,
    )
    study.spec.points, study.spec.seed = 50, 11
    units = np.random.default_rng(11).random((50, 2))
    drawn = np.array(swept(plan(study)))
    assert drawn[:, 0] == pytest.approx(0.1 + units[:, 0] * 0.4)
    assert drawn[:, 1] == pytest.approx(np.exp(units[:, 1] * np.log(1000)))


@pytest.mark.parametrize(
    ("study", "field", "message"),
    [
        (request(), "spec.axes", "sweep at least one parameter"),
        (request(values("nope", 1)), "spec.axes[0].parameter", "unknown parameter 'nope'"),
        (
            request(values("strike", 1), fixed={"strike": 2}),
            "spec.axes[0].parameter",
            "also fixed in spec.parameters",
        ),
        (
            request(values("steps", 1), span("steps", 2, 4, count=3)),
            "spec.axes[1].parameter",
            "already swept by spec.axes[0]",
        ),
        (request(pb.StudyAxis(parameter="steps")), "spec.axes[0]", "values or a range"),
        (request(values("steps")), "spec.axes[0].values", "at least one value"),
        (
            request(values("volatility", 0.1, 0.2, 0.3, -1)),
            "spec.axes[0].values[3]",
            "volatility must be > 0 (got -1)",
        ),
        (request(values("steps", 2, 2.5)), "spec.axes[0].values[1]", "steps must be an integer"),
        (request(values("method", "exact", "rk4")), "spec.axes[0].values[1]", "must be one of"),
        (request(values("steps", 1, None)), "spec.axes[0].values[1]", "steps needs a value"),
        (request(values("steps", 3, 4, 3)), "spec.axes[0].values[2]", "is values[0] again"),
        (request(span("steps", 1, 5, count=1)), "spec.axes[0].range.count", "at least 2"),
        (
            request(span("volatility", 0.0, 1.0, count=3)),
            "spec.axes[0].range.start",
            "volatility must be > 0",
        ),
        (request(span("steps", 1, 400, count=3)), "spec.axes[0].range.stop", "must be <= 365"),
        (
            request(span("volatility", -1, 1, count=3, log=True)),
            "spec.axes[0].range.start",
            "must be > 0 in a log range",
        ),
        (
            request(span("volatility", 0.1, float("inf"), count=3)),
            "spec.axes[0].range.stop",
            "finite",
        ),
        (request(span("steps", 1, 3, count=5)), "spec.axes[0].range", "round to only 3"),
        (request(span("volatility", 0.2, 0.2, count=2)), "spec.axes[0].range", "hold volatility"),
        (request(span("method", 0, 1, count=2)), "spec.axes[0].range", "a choice parameter"),
        (
            request(span("steps", 1, 100, count=11), span("volatility", 0.1, 0.2, count=10)),
            "spec.axes",
            "11 x 10 = 110 points; a study has at most 100 (SIMLAB_GATEWAY_MAX_STUDY_POINTS)",
        ),
        (request(span("steps", 1, 365, count=101)), "spec.axes[0].range.count", "at most 100"),
        (request(values("strike", 1), fixed={}, title="t" * 201), "spec.title", "at most 200"),
        (request(values("steps", 1), fixed={"strike": 1, "nope": 2}), "spec.parameters.nope", ""),
        (request(values("steps", 1), fixed={"strike": -1.0}), "spec.parameters.strike", ">= 0"),
        (request(values("steps", 1), fixed={}), "spec.parameters.strike", "is required"),
        (request(values("steps", 1), fixed={"a\0": 1}), "spec.parameters", "NUL"),
        (request(values("method", "a\0")), "spec.axes[0].values[0]", "NUL"),
        (request(values("steps", 1), shards=9), "spec.shards", "the configured maximum"),
        (
            request(values("steps", 1), precision=pb.Precision(rel_tol=-1)),
            "spec.precision.rel_tol",
            "",
        ),
        (request(values("steps", 1), design=99), "spec.design", "unknown design"),
        (
            request(values("steps", 1, 2), design=pb.STUDY_DESIGN_SOBOL, points=4),
            "spec.axes[0].values",
            "give spec.axes[0].range",
        ),
        (
            request(span("steps", 1, 2), design=pb.STUDY_DESIGN_RANDOM),
            "spec.points",
            "1 to 100 points",
        ),
        (
            request(span("steps", 1, 2), design=pb.STUDY_DESIGN_SOBOL, points=101),
            "spec.points",
            "SIMLAB_GATEWAY_MAX_STUDY_POINTS",
        ),
    ],
)
def test_a_bad_spec_is_refused_naming_its_field(
    study: StudyRequest, field: str, message: str
) -> None:
    error = refusal(study)
    assert error.field == field
    assert message in error.description


def test_a_check_across_parameters_names_the_value_and_the_point_it_failed_at() -> None:
    study = request(values("samples", 500, 5), values("steps", 1, 10))
    error = refusal(study)
    assert error.field == "spec.axes[1].values[1]"
    assert error.description == ("steps must be at most samples; at point 3 (samples=5, steps=10)")


def test_a_fixed_value_that_fails_at_a_point_names_the_fixed_parameter_and_the_point() -> None:
    error = refusal(request(values("samples", 50, 5), fixed={"strike": 1.0, "steps": 10}))
    assert error.field == "spec.parameters.steps"
    assert "at point 1 (samples=5)" in error.description


def test_a_drawn_point_that_fails_names_the_axis_range() -> None:
    study = request(span("samples", 2, 400), span("steps", 1, 365), design=pb.STUDY_DESIGN_RANDOM)
    study.spec.points = 100
    error = refusal(study)
    assert error.field in ("spec.axes[0].range", "spec.axes[1].range")
    assert "steps must be at most samples; at point" in error.description


def test_shards_beyond_a_points_blocks_are_refused_naming_the_point() -> None:
    # 300 samples in one block of 300: one shard at most; 5,000 in blocks of 500: ten.
    error = refusal(request(values("samples", 5000, 300), shards=2))
    assert error.field == "spec.shards"
    assert "at point 1 (samples=300)" in error.description


def test_a_script_cannot_be_swept() -> None:
    error = refusal(request(values("x", 1)), Runnable("fit", 1, "d" * 64, None))
    assert error.field == "spec.model" and "is a script" in error.description


def test_the_sample_count_may_be_swept_with_a_sampled_design() -> None:
    study = request(span("samples", 100, 100_000, log=True), design=pb.STUDY_DESIGN_SOBOL)
    study.spec.points = 32
    result = plan(study)
    assert all(p.samples_total == p.parameters["samples"] for p in result.points)
    assert all(100 <= p.samples_total <= 100_000 for p in result.points)
