"""A study's sweep as a pb.StudySpec: from the CLI's `-p` words or from the SDK's `params` and
`sweep` mappings. Pure (no I/O, no server): bad input is a StudySpecError whose message names
the parameter, as it was written, and says what is wrong, e.g.
"-p volatility=0.1:x:9: 'x' is not a number".

The `-p NAME=...` forms:
    strike=90,100,110      a list of values (numbers, true/false, or strings for choices)
    volatility=0.1:0.5:9   a range: 9 points from 0.1 to 0.5, both included
    rate=log:0.01:1:5      5 points evenly spaced in log(rate)
    volatility=0.1:0.5     a range without a count, for sampled designs (--sample sobol:256)
    spot=100               held fixed at every point
In the SDK a swept parameter is a list (or NumPy array) of values or `simlab.range(start, stop,
count)` / `simlab.logrange(...)` (without a count for sampled designs)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from google.protobuf import struct_pb2

from simlab.v1 import simulation_pb2 as pb

DESIGNS = {"sobol": pb.STUDY_DESIGN_SOBOL, "random": pb.STUDY_DESIGN_RANDOM}
# Parameters whose values are never ranges: "a:b" is then a value.
_NOT_NUMBERS = (pb.PARAMETER_TYPE_CHOICE, pb.PARAMETER_TYPE_BOOL)


class StudySpecError(ValueError):
    """A sweep that cannot be a study; the message names the parameter and what is wrong."""


@dataclass(frozen=True)
class Range:
    """A swept interval: `count` points from `start` to `stop`, both included (a grid), or,
    without a count, the interval a sampled design draws from. `log`: evenly spaced in
    log(value) (start and stop > 0). `simlab.range(0.1, 0.5, 9)` makes one."""

    start: float
    stop: float
    count: int | None = None
    log: bool = False


def logrange(start: float, stop: float, count: int | None = None) -> Range:
    """A range evenly spaced in log(value): `simlab.logrange(0.01, 1, 5)`."""
    return Range(start, stop, count, log=True)


Axis = Sequence[Any] | np.ndarray | Range


@dataclass(frozen=True)
class Sweep:
    """What `-p` words say: the fixed parameters, the swept ones (in the order given) and, for
    each swept one, how errors name it (the word as written)."""

    fixed: dict[str, Any]
    axes: dict[str, Axis]
    labels: dict[str, str]


def parse_value(raw: str, param: pb.Parameter | None) -> Any:
    """Turns `-p name=value` text into the JSON value the schema wants; unknown parameters
    go to the server as they are, so that its error names them."""
    kind = param.type if param is not None else None
    if kind == pb.PARAMETER_TYPE_CHOICE:
        return raw
    if kind == pb.PARAMETER_TYPE_BOOL or raw.lower() in ("true", "false"):
        return {"true": True, "false": False}.get(raw.lower(), raw)
    for convert in (int, float):
        try:
            return convert(raw.replace("_", ""))
        except ValueError:
            pass
    return raw


def parse_sweep(words: Sequence[str], model: pb.Model | None = None) -> Sweep:
    """`-p` words (NAME=VALUE each, see the module's docstring) as fixed and swept parameters;
    the model's schema, when known, says which parameters take text (a choice's "a:b" is a
    value, not a range)."""
    schema = {p.name: p for p in model.parameters} if model else {}
    fixed: dict[str, Any] = {}
    axes: dict[str, Axis] = {}
    labels: dict[str, str] = {}
    for word in words:
        name, sep, raw = word.partition("=")
        if not sep or not name:
            raise StudySpecError(f"-p expects NAME=VALUE, got {word!r}")
        if name in fixed or name in axes:
            raise StudySpecError(f"-p {word}: {name} is given twice")
        label, param = f"-p {word}", schema.get(name)
        text_only = param is not None and param.type in _NOT_NUMBERS
        if "," in raw:
            axes[name] = _parse_list(raw, param, label)
        elif ":" in raw and not text_only:
            axes[name] = _parse_range(raw, label)
        else:
            fixed[name] = parse_value(raw, param)
            continue
        labels[name] = label
    return Sweep(fixed, axes, labels)


def _parse_list(raw: str, param: pb.Parameter | None, label: str) -> list[Any]:
    items = raw.split(",")
    if any(not item.strip() for item in items):
        raise StudySpecError(f"{label}: an empty value in the list")
    return [parse_value(item.strip(), param) for item in items]


def _parse_range(raw: str, label: str) -> Range:
    parts = raw.split(":")
    log = parts[0] == "log"
    if log:
        parts = parts[1:]
    if len(parts) not in (2, 3):
        raise StudySpecError(
            f"{label}: a range is start:stop:count (or log:start:stop:count; start:stop for "
            "a sampled design)"
        )
    start, stop = (_number(part, label) for part in parts[:2])
    count = _whole_number(parts[2], label) if len(parts) == 3 else None
    return Range(start, stop, count, log)


def _number(text: str, label: str) -> float:
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise StudySpecError(f"{label}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise StudySpecError(f"{label}: {text!r} is not a finite number")
    return value


def _whole_number(text: str, label: str) -> int:
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise StudySpecError(f"{label}: the count {text!r} is not a whole number") from None


def parse_sample(text: str) -> tuple[str, int]:
    """`--sample sobol:256` or `random:100` -> ("sobol", 256)."""
    design, sep, points = text.partition(":")
    if not sep or design not in DESIGNS:
        raise StudySpecError(f"--sample expects sobol:N or random:N, got {text!r}")
    try:
        return design, int(points.replace("_", ""))
    except ValueError:
        raise StudySpecError(
            f"--sample {text}: the number of points {points!r} is not a whole number"
        ) from None


def build_spec(
    model: str,
    *,
    params: Mapping[str, Any] | None = None,
    sweep: Mapping[str, Axis],
    sample: tuple[str, int] | None = None,
    crn: bool = False,
    seed: int = 0,
    shards: int = 1,
    precision: pb.Precision | None = None,
    no_cache: bool = False,
    title: str = "",
    labels: Mapping[str, str] | None = None,
) -> pb.StudySpec:
    """The StudySpec of a sweep: the axes in `sweep`'s order (a grid's first axis varies
    slowest), `params` fixed at every point. `sample` ("sobol" or "random", points) draws that
    many points within the axes' ranges instead of the grid. `labels` name the swept
    parameters in errors (default `sweep['name']`). What only the model's schema can tell (an
    unknown name, a value out of bounds) is the server's to say."""
    params = dict(params or {})
    labels = labels or {}
    if not sweep:
        raise StudySpecError(
            "a study sweeps at least one parameter: a list of values (-p strike=90,100,110) "
            "or a range (-p volatility=0.1:0.5:9)"
        )
    design, points = _design(sample)
    spec = pb.StudySpec(
        model=model,
        design=design,
        points=points,
        crn=crn,
        seed=_seed(seed),
        shards=shards,
        precision=precision,
        no_cache=no_cache,
        title=title,
    )
    params = {name: _plain(value) for name, value in params.items()}
    for name, value in params.items():
        _check_finite(value, f"params[{name!r}]")
    spec.parameters.update(params)
    for name, axis in sweep.items():
        label = labels.get(name, f"sweep[{name!r}]")
        if isinstance(axis, np.ndarray):  # np.linspace(...) in a notebook
            axis = axis.tolist()
        if name in params:
            raise StudySpecError(f"{label}: {name} is both fixed and swept")
        if isinstance(axis, Range):
            spec.axes.add(parameter=name, range=_range(axis, label, sampled=points > 0))
        elif isinstance(axis, str | bytes) or not isinstance(axis, Sequence):
            raise StudySpecError(
                f"{label}: sweep a list of values or a range (simlab.range), got {axis!r}"
            )
        elif points:
            raise StudySpecError(
                f"{label}: a sampled design draws within ranges; give a range (start:stop), "
                "not a list"
            )
        else:
            spec.axes.add(parameter=name, values=_values(axis, label))
    return spec


def _design(sample: tuple[str, int] | None) -> tuple[pb.StudyDesign, int]:
    if sample is None:
        return pb.STUDY_DESIGN_GRID, 0
    design, points = sample
    if design not in DESIGNS:
        raise StudySpecError(f"sample: the design is sobol or random, got {design!r}")
    if not isinstance(points, int) or isinstance(points, bool) or points < 1:
        raise StudySpecError(f"sample: {design} needs a number of points ≥ 1, got {points!r}")
    return DESIGNS[design], points


def _seed(seed: int) -> int:
    if not 0 <= seed < 2**64:
        raise StudySpecError(f"seed: must be 0 (random) or a whole number below 2**64, got {seed}")
    return seed


def _range(axis: Range, label: str, sampled: bool) -> pb.StudyRange:
    for bound in (axis.start, axis.stop):
        _check_finite(bound, label)
    if axis.start == axis.stop:
        raise StudySpecError(f"{label}: start and stop are equal; hold it fixed instead")
    if axis.log and min(axis.start, axis.stop) <= 0:
        raise StudySpecError(f"{label}: a log range needs start and stop > 0")
    if sampled and axis.count is not None:
        raise StudySpecError(
            f"{label}: a sampled design draws within the range; leave the count out"
        )
    if not sampled and axis.count is None:
        raise StudySpecError(
            f"{label}: a grid needs a count of points (start:stop:count), or sample the "
            "range with a sampled design (sobol or random)"
        )
    if axis.count is not None and axis.count < 2:
        raise StudySpecError(f"{label}: the count must be at least 2, got {axis.count}")
    return pb.StudyRange(start=axis.start, stop=axis.stop, count=axis.count or 0, log=axis.log)


def _values(values: Sequence[Any], label: str) -> pb.StudyValues:
    if not values:
        raise StudySpecError(f"{label}: the list of values is empty")
    values = [_plain(value) for value in values]
    seen: list[Any] = []
    for value in values:
        if not isinstance(value, bool | int | float | str):
            raise StudySpecError(f"{label}: {value!r} is not a number, true/false or a string")
        _check_finite(value, label)
        # 1 and 1.0 are one value; True and 1 are not.
        if any(value == other and isinstance(value, bool) == isinstance(other, bool)
               for other in seen):  # fmt: skip
            raise StudySpecError(f"{label}: {value!r} is listed twice")
        seen.append(value)
    message = pb.StudyValues()
    for value in values:
        message.values.append(_json_value(value))
    return message


def _plain(value: Any) -> Any:
    """A NumPy number as the Python one it holds."""
    return value.item() if isinstance(value, np.generic) else value


def _json_value(value: bool | int | float | str) -> struct_pb2.Value:
    if isinstance(value, bool):
        return struct_pb2.Value(bool_value=value)
    if isinstance(value, str):
        return struct_pb2.Value(string_value=value)
    return struct_pb2.Value(number_value=value)


def _check_finite(value: Any, label: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise StudySpecError(f"{label}: {value} is not a finite number")
