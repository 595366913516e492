import math

import pytest

from simlab.common.errors import Code, SimlabError
from simlab.core.params import validate
from simlab.models.european_option import MODEL as OPTION
from simlab.models.mm1_queue import MODEL as QUEUE

OPTION_REQUIRED = {"spot": 100.0, "strike": 105.0}


def rejection(model, given) -> SimlabError:
    with pytest.raises(SimlabError) as caught:
        validate(model, given)
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert str(caught.value).startswith(f"{caught.value.field}: ")
    return caught.value


def test_defaults_are_filled_in_and_values_typed():
    params = validate(OPTION, {**OPTION_REQUIRED, "paths": 2000.0})
    assert params == {
        "spot": 100.0,
        "strike": 105.0,
        "rate": 0.05,
        "volatility": 0.2,
        "maturity": 1.0,
        "option_type": "call",
        "paths": 2000,
    }
    # Parameters arrive as JSON numbers (a protobuf Struct has only doubles).
    assert type(params["paths"]) is int
    assert type(validate(OPTION, {"spot": 100, "strike": 1})["spot"]) is float


def test_missing_required_parameter_is_named():
    error = rejection(OPTION, {"spot": 100.0})
    assert error.field == "parameters.strike"
    assert "required" in str(error)


def test_unknown_parameter_is_named():
    error = rejection(OPTION, {**OPTION_REQUIRED, "sigma": 0.3})
    assert error.field == "parameters.sigma"
    assert "volatility" in str(error)  # lists the known ones


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("volatility", 0.0, "> 0"),  # exclusive bound
        ("volatility", 6.0, "<= 5"),
        ("spot", -1.0, "> 0"),
        ("paths", 0, ">= 1"),
        ("paths", -5, ">= 1"),
    ],
)
def test_out_of_range_values_are_named(name, value, expected):
    error = rejection(OPTION, {**OPTION_REQUIRED, name: value})
    assert error.field == f"parameters.{name}"
    assert expected in str(error)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("spot", "100"),
        ("paths", 1.5),
        ("paths", "many"),
        ("option_type", "straddle"),
        ("option_type", 1),
        ("paths", [1000]),
    ],
)
def test_wrongly_typed_values_are_named(name, value):
    assert rejection(OPTION, {**OPTION_REQUIRED, name: value}).field == f"parameters.{name}"


@pytest.mark.parametrize("value", [True, False])
def test_a_bool_is_not_a_number(value):
    error = rejection(OPTION, {**OPTION_REQUIRED, "paths": value})
    assert error.field == "parameters.paths"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_numbers_are_refused(value):
    error = rejection(OPTION, {**OPTION_REQUIRED, "spot": value})
    assert error.field == "parameters.spot"
    assert "finite" in str(error)


def test_unstable_queue_is_refused_naming_the_arrival_rate():
    error = rejection(QUEUE, {"arrival_rate": 1.0, "service_rate": 1.0})
    assert error.field == "parameters.arrival_rate"
    assert "stable" in str(error)
    assert validate(QUEUE, {"arrival_rate": 0.5, "service_rate": 1.0})["arrival_rate"] == 0.5
