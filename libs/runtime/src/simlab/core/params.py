"""Checks submitted parameters against a model's schema. Runs at the gateway, before anything
is stored; every error names the offending field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from simlab.common.errors import invalid
from simlab.models.base import Model, Param


def validate(model: Model, given: Mapping[str, Any]) -> dict[str, Any]:
    """The complete, typed parameter set (defaults filled in), or SimlabError(INVALID_ARGUMENT)."""
    known = {p.name for p in model.parameters}
    for name in given:
        if name not in known:
            raise invalid(
                f"parameters.{name}",
                f"unknown parameter for model {model.name} (known: {', '.join(sorted(known))})",
            )
    out: dict[str, Any] = {}
    for param in model.parameters:
        if param.name in given and given[param.name] is not None:
            out[param.name] = _check(param, given[param.name])
        elif param.default is None:
            raise invalid(f"parameters.{param.name}", "is required")
        else:
            out[param.name] = param.default
    model.check(out)
    return out


def _check(param: Param, value: Any) -> Any:
    field = f"parameters.{param.name}"
    if param.type == "bool":
        if not isinstance(value, bool):
            raise invalid(field, f"must be true or false (got {value!r})")
        return value
    if param.type == "choice":
        if not isinstance(value, str) or value not in param.choices:
            raise invalid(field, f"must be one of {', '.join(param.choices)} (got {value!r})")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "an integer" if param.type == "int" else "a number"
        raise invalid(field, f"must be {kind} (got {value!r})")
    if not math.isfinite(value):
        raise invalid(field, f"must be finite (got {value!r})")
    number: int | float
    if param.type == "int":
        if float(value) != int(value):
            raise invalid(field, f"must be an integer (got {value!r})")
        number = int(value)
    else:
        number = float(value)
    _check_bounds(param, number, field)
    return number


def _check_bounds(param: Param, number: float, field: str) -> None:
    lo, hi = param.minimum, param.maximum
    if lo is not None and (number <= lo if param.exclusive_minimum else number < lo):
        op = ">" if param.exclusive_minimum else ">="
        raise invalid(field, f"must be {op} {_fmt(lo)} (got {_fmt(number)})")
    if hi is not None and (number >= hi if param.exclusive_maximum else number > hi):
        op = "<" if param.exclusive_maximum else "<="
        raise invalid(field, f"must be {op} {_fmt(hi)} (got {_fmt(number)})")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)
