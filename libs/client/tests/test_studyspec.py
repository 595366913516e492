"""A study's sweep from `-p` words and from the SDK's mappings: every form, and every error
naming the parameter as it was written."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format, struct_pb2

import simlab
from simlab.studyspec import (
    Range,
    StudySpecError,
    build_spec,
    logrange,
    parse_sample,
    parse_sweep,
)
from simlab.v1 import simulation_pb2 as pb

OPTION = pb.Model(
    name="european_option",
    parameters=[
        pb.Parameter(name="strike", type=pb.PARAMETER_TYPE_FLOAT),
        pb.Parameter(name="paths", type=pb.PARAMETER_TYPE_INT, is_sample_count=True),
        pb.Parameter(name="kind", type=pb.PARAMETER_TYPE_CHOICE, choices=["call", "put"]),
        pb.Parameter(name="antithetic", type=pb.PARAMETER_TYPE_BOOL),
        pb.Parameter(name="label", type=pb.PARAMETER_TYPE_CHOICE, choices=["a:b", "c"]),
    ],
)


def axes(spec: pb.StudySpec) -> list[dict[str, Any]]:
    return [json_format.MessageToDict(axis) for axis in spec.axes]


def pb_value(**kind: Any) -> struct_pb2.Value:
    return struct_pb2.Value(**kind)


def spec_of(words: list[str], model: pb.Model | None = None, **options: Any) -> pb.StudySpec:
    sweep = parse_sweep(words, model)
    return build_spec(
        "european_option", params=sweep.fixed, sweep=sweep.axes, labels=sweep.labels, **options
    )


def test_every_form_of_p() -> None:
    spec = spec_of(
        ["strike=90,100,110", "volatility=0.1:0.5:9", "rate=log:0.01:1:5", "spot=100",
         "paths=1_000_000"],
    )  # fmt: skip
    assert axes(spec) == [
        {"parameter": "strike", "values": {"values": [90, 100, 110]}},
        {"parameter": "volatility", "range": {"start": 0.1, "stop": 0.5, "count": 9}},
        {"parameter": "rate", "range": {"start": 0.01, "stop": 1.0, "count": 5, "log": True}},
    ]
    assert dict(spec.parameters) == {"spot": 100, "paths": 1_000_000}
    assert spec.model == "european_option"
    assert (spec.design, spec.points, spec.seed, spec.crn, spec.shards) == (
        pb.STUDY_DESIGN_GRID, 0, 0, False, 1,
    )  # fmt: skip
    assert not spec.HasField("precision")


def test_values_are_numbers_booleans_or_strings_as_the_schema_says() -> None:
    spec = spec_of(["kind=call,put", "antithetic=true,false", "strike=95.5,1e2"], OPTION)
    assert [list(axis.values.values) for axis in spec.axes] == [
        [pb_value(string_value="call"), pb_value(string_value="put")],
        [pb_value(bool_value=True), pb_value(bool_value=False)],
        [pb_value(number_value=95.5), pb_value(number_value=100.0)],
    ]
    # A choice's "a:b" is a value, not a range; without the schema it would be a bad range.
    assert dict(spec_of(["label=a:b", "strike=1,2"], OPTION).parameters)["label"] == "a:b"
    with pytest.raises(StudySpecError, match="'a' is not a number"):
        spec_of(["label=a:b", "strike=1,2"])


def test_sampled_designs_take_ranges_without_a_count() -> None:
    spec = spec_of(
        ["volatility=0.1:0.5", "rate=log:0.01:1", "spot=100"], sample=parse_sample("sobol:256")
    )
    assert (spec.design, spec.points) == (pb.STUDY_DESIGN_SOBOL, 256)
    assert axes(spec) == [
        {"parameter": "volatility", "range": {"start": 0.1, "stop": 0.5}},
        {"parameter": "rate", "range": {"start": 0.01, "stop": 1.0, "log": True}},
    ]
    assert parse_sample("random:1_000") == ("random", 1000)
    spec = spec_of(["volatility=0.1:0.5"], sample=("random", 100))
    assert (spec.design, spec.points) == (pb.STUDY_DESIGN_RANDOM, 100)


def test_the_sdk_form_builds_the_same_spec() -> None:
    precision = pb.Precision(rel_tol=1e-3)
    spec = build_spec(
        "european_option",
        params={"spot": 100, "paths": 10**6},
        sweep={
            "strike": [90, 100, 110],
            "volatility": simlab.range(0.1, 0.5, 9),
            "rate": simlab.logrange(0.01, 1, 5),
        },
        crn=True,
        seed=7,
        shards=4,
        precision=precision,
        no_cache=True,
        title="smile",
    )
    words = spec_of(
        ["strike=90,100,110", "volatility=0.1:0.5:9", "rate=log:0.01:1:5", "spot=100",
         "paths=1000000"],
        crn=True, seed=7, shards=4, precision=precision, no_cache=True, title="smile",
    )  # fmt: skip
    assert spec == words
    assert spec.precision.rel_tol == 1e-3 and spec.crn and spec.no_cache
    assert simlab.range(0.1, 0.5) == Range(0.1, 0.5) and logrange(1, 2).log


@pytest.mark.parametrize(
    ("words", "options", "message"),
    [
        (["strike"], {}, "-p expects NAME=VALUE, got 'strike'"),
        (["=5"], {}, "-p expects NAME=VALUE, got '=5'"),
        (["strike=90,100", "strike=110"], {}, "-p strike=110: strike is given twice"),
        (["volatility=0.1:x:9"], {}, "-p volatility=0.1:x:9: 'x' is not a number"),
        (["volatility=0.1:inf:9"], {}, "-p volatility=0.1:inf:9: 'inf' is not a finite number"),
        (["volatility=0.1:0.5:9.5"], {},
         "-p volatility=0.1:0.5:9.5: the count '9.5' is not a whole number"),
        (["volatility=0.1:0.5:1"], {}, "-p volatility=0.1:0.5:1: the count must be at least 2"),
        (["volatility=0.1:0.5:9:3"], {}, "-p volatility=0.1:0.5:9:3: a range is start:stop:count"),
        (["volatility=log:0.1"], {}, "-p volatility=log:0.1: a range is start:stop:count"),
        (["rate=log:0:1:5"], {}, "-p rate=log:0:1:5: a log range needs start and stop > 0"),
        (["rate=0.5:0.5:3"], {}, "-p rate=0.5:0.5:3: start and stop are equal"),
        (["volatility=0.1:0.5"], {},
         "-p volatility=0.1:0.5: a grid needs a count of points (start:stop:count)"),
        (["volatility=0.1:0.5:9"], {"sample": ("sobol", 8)},
         "-p volatility=0.1:0.5:9: a sampled design draws within the range; leave the count out"),
        (["strike=90,100"], {"sample": ("sobol", 8)},
         "-p strike=90,100: a sampled design draws within ranges; give a range"),
        (["strike=90,,110"], {}, "-p strike=90,,110: an empty value in the list"),
        (["strike=90,100,90"], {}, "-p strike=90,100,90: 90 is listed twice"),
        (["strike=90,nan"], {}, "-p strike=90,nan: nan is not a finite number"),
        (["spot=100"], {}, "a study sweeps at least one parameter"),
        ([], {}, "a study sweeps at least one parameter"),
        (["strike=1,2"], {"seed": -1}, "seed: must be 0 (random) or a whole number below 2**64"),
        (["strike=1,2"], {"sample": ("lhs", 8)}, "sample: the design is sobol or random"),
        (["volatility=0.1:0.5"], {"sample": ("sobol", 0)},
         "sample: sobol needs a number of points ≥ 1"),
    ],
)  # fmt: skip
def test_each_error_names_the_parameter_as_written(
    words: list[str], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(StudySpecError) as error:
        spec_of(words, **options)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sobol", "--sample expects sobol:N or random:N, got 'sobol'"),
        ("lhs:10", "--sample expects sobol:N or random:N, got 'lhs:10'"),
        ("sobol:many", "--sample sobol:many: the number of points 'many' is not a whole number"),
    ],
)
def test_a_bad_sample_is_refused(text: str, message: str) -> None:
    with pytest.raises(StudySpecError, match=message):
        parse_sample(text)


@pytest.mark.parametrize(
    ("params", "sweep", "message"),
    [
        ({"strike": 100}, {"strike": [90, 110]}, "sweep['strike']: strike is both fixed and swept"),
        ({}, {"strike": "90,100"}, "sweep['strike']: sweep a list of values or a range"),
        ({}, {"strike": 100}, "sweep['strike']: sweep a list of values or a range"),
        ({}, {"strike": []}, "sweep['strike']: the list of values is empty"),
        ({}, {"strike": [90, None]}, "sweep['strike']: None is not a number, true/false"),
        ({}, {"strike": [1, 1.0]}, "sweep['strike']: 1.0 is listed twice"),
        ({"spot": float("inf")}, {"strike": [1, 2]}, "params['spot']: inf is not a finite number"),
        ({}, {"v": simlab.range(0.1, 0.5, 1)}, "sweep['v']: the count must be at least 2"),
        ({}, {"v": simlab.range(0.1, 0.5)}, "sweep['v']: a grid needs a count of points"),
        ({}, {"r": simlab.logrange(-1, 1, 3)}, "sweep['r']: a log range needs start and stop > 0"),
    ],
)  # fmt: skip
def test_sdk_errors_name_the_sweep_entry(
    params: dict[str, Any], sweep: dict[str, Any], message: str
) -> None:
    with pytest.raises(StudySpecError) as error:
        build_spec("m", params=params, sweep=sweep)
    assert message in str(error.value)


def test_true_and_one_are_different_values() -> None:
    spec = build_spec("m", sweep={"flag": [True, 1]})
    assert len(spec.axes[0].values.values) == 2


def test_numpy_values_are_plain_numbers() -> None:
    spec = build_spec(
        "m",
        params={"paths": np.int64(1000)},
        sweep={"strike": np.linspace(90, 110, 3), "steps": [np.int64(12), np.int64(52)]},
    )
    assert axes(spec) == [
        {"parameter": "strike", "values": {"values": [90.0, 100.0, 110.0]}},
        {"parameter": "steps", "values": {"values": [12.0, 52.0]}},
    ]
    assert dict(spec.parameters) == {"paths": 1000}
