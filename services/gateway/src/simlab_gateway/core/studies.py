"""A study's points, from its spec: the sweep expanded into points, and each point checked and
planned by the code that checks and plans a submission (core.submission). Nothing is stored
before every point passes; an error names the spec's field and, where it depends on the point,
the point.

- GRID: every combination of the axes' values, first axis slowest. An axis is a list of values
  or a range of `count` points from start to stop, both included, evenly spaced (or in log).
- SOBOL / RANDOM: `points` points within the axes' ranges (every axis a range): scrambled Sobol
  or uniform, drawn from the study's seed, so the same spec gives the same points.
- An integer parameter swept by a range takes the nearest integers; a grid axis whose values
  repeat is refused.
- Seeds: a study's seed 0 is drawn here (and recorded in its spec). With common random numbers
  every point runs with the study's seed, so each draws the same block streams; otherwise
  point i runs with its own seed, derived from (study seed, i) by `point_seed`."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.common.errors import Code, SimlabError, invalid
from simlab.core.params import validate
from simlab.models.base import Model, Param
from simlab.transport.precision import precision_from_proto, precision_to_proto
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.ids import check_text
from simlab_gateway.core.submission import (
    Runnable,
    check_values,
    plan_job,
    random_seed,
    shard_count,
)

DEFAULT_MAX_POINTS = 10_000
# The setting that raises the most points a study may have, named in the refusal.
MAX_POINTS_SETTING = "SIMLAB_GATEWAY_MAX_STUDY_POINTS"
_DESIGNS = {
    pb.STUDY_DESIGN_UNSPECIFIED: "grid",
    pb.STUDY_DESIGN_GRID: "grid",
    pb.STUDY_DESIGN_SOBOL: "sobol",
    pb.STUDY_DESIGN_RANDOM: "random",
}
MAX_TITLE = 200
# Where a parameter name may be shown in a message.
_MAX_NAME = 200


@dataclass(frozen=True)
class StudyRequest:
    """A SubmitStudy request, its JSON values decoded."""

    spec: pb.StudySpec
    # spec.parameters: held fixed at every point.
    fixed: Mapping[str, Any]
    # Each axis's values, in axis order; None for an axis that is a range.
    values: tuple[tuple[Any, ...] | None, ...]
    request_id: str


@dataclass(frozen=True)
class PointPlan:
    # Every parameter of the point's run, defaults filled in.
    parameters: dict[str, Any]
    seed: int
    block_size: int
    samples_total: int


@dataclass(frozen=True)
class StudyPlan:
    """What the job store records: the spec (its seed drawn, its shard count and precision
    target with their defaults filled in), the model version every point runs, and the points
    in index order."""

    spec: pb.StudySpec
    model: str
    model_version: int
    code_sha256: str
    primary_output: str
    # The swept parameters, in axis order.
    swept: tuple[str, ...]
    points: tuple[PointPlan, ...]


@dataclass(frozen=True)
class _Axis:
    # spec.axes[i]
    field: str
    param: Param
    # Grid: the values, as the parameter takes them; None for a range of a sampled design.
    values: tuple[Any, ...] | None
    # Sampled designs: the range the values are drawn in.
    range: pb.StudyRange | None = None

    def value_field(self, position: int | None) -> str:
        """The spec's field that gave a point its value on this axis."""
        if self.range is not None or position is None:
            return f"{self.field}.range"
        return f"{self.field}.values[{position}]"


def point_seed(study_seed: int, index: int) -> int:
    """Point `index`'s own seed: the first 8 bytes of sha256("<study seed>:<index>"), as a
    nonzero 63-bit number. Clients may derive it too."""
    digest = hashlib.sha256(f"{study_seed}:{index}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 1) or 1


def plan_study(
    runnable: Runnable, request: StudyRequest, max_points: int, max_shards: int
) -> StudyPlan:
    """Every point of the study, checked and planned; INVALID_ARGUMENT naming the spec's field
    (and the point, where it depends on one) otherwise."""
    spec = request.spec
    model = runnable.schema
    if model is None:
        raise invalid(
            "spec.model",
            f"{runnable.name} is a script: its arguments are free-form, with no schema to "
            "sweep; a study sweeps the parameters of a blocks model",
        )
    design = _DESIGNS.get(spec.design)
    if design is None:
        raise invalid("spec.design", f"unknown design {spec.design}")
    check_text(spec.title, "spec.title", MAX_TITLE)
    with within_spec():
        shards = shard_count(spec.shards, max_shards)
        # With its defaults filled in, as SubmitJob records a target.
        target = (
            precision_to_proto(precision_from_proto(spec.precision))
            if spec.HasField("precision")
            else None
        )
    _check_fixed(model, request.fixed)
    axes = _axes(model, request, design, max_points)
    seed = spec.seed or random_seed()
    # Where each point's values are in the grid's axes (None: drawn).
    where_of: list[tuple[int | None, ...]]
    if design == "grid":
        _check_grid_size(axes, max_points)
        grid = list(itertools.product(*(range(len(axis.values or ())) for axis in axes)))
        coordinates = [
            tuple((axis.values or ())[j] for axis, j in zip(axes, where, strict=True))
            for where in grid
        ]
        where_of = list(grid)
    else:
        if not 1 <= spec.points <= max_points:
            raise invalid(
                "spec.points",
                f"a {design} design draws 1 to {max_points:,} points ({MAX_POINTS_SETTING}); "
                f"got {spec.points}",
            )
        coordinates = _sampled(axes, design, spec.points, seed)
        where_of = [(None,) * len(axes)] * len(coordinates)
    points = tuple(
        _plan_point(
            runnable,
            max_shards,
            index,
            {**request.fixed, **{axis.param.name: v for axis, v in zip(axes, values, strict=True)}},
            seed if spec.crn else point_seed(seed, index),
            shards,
            target,
            spec.no_cache,
            axes,
            where_of[index],
        )
        for index, values in enumerate(coordinates)
    )
    recorded = pb.StudySpec()
    recorded.CopyFrom(spec)
    recorded.seed = seed
    recorded.shards = shards
    if target is not None:
        recorded.precision.CopyFrom(target)
    return StudyPlan(
        spec=recorded,
        model=runnable.name,
        model_version=runnable.version,
        code_sha256=runnable.code_sha256,
        primary_output=model.primary_output,
        swept=tuple(axis.param.name for axis in axes),
        points=points,
    )


@contextlib.contextmanager
def within_spec() -> Iterator[None]:
    """A field of a submission's is the same field of the study's spec."""
    try:
        yield
    except SimlabError as error:
        if error.code is not Code.INVALID_ARGUMENT or error.field is None:
            raise
        raise invalid(f"spec.{error.field}", error.description) from None


def _check_fixed(model: Model, fixed: Mapping[str, Any]) -> None:
    check_values(fixed, "spec.parameters")
    for name, value in fixed.items():
        field = f"spec.parameters.{name}"
        param = model.param(name)
        if param is None:
            raise invalid(field, f"unknown parameter for model {model.name} ({_known(model)})")
        _checked_value(_alone(model, param), value, field, label="")


def _axes(model: Model, request: StudyRequest, design: str, max_points: int) -> list[_Axis]:
    spec = request.spec
    if not spec.axes:
        raise invalid("spec.axes", "sweep at least one parameter")
    axes: list[_Axis] = []
    swept: dict[str, str] = {}
    for i, axis in enumerate(spec.axes):
        field = f"spec.axes[{i}]"
        name = check_text(axis.parameter, f"{field}.parameter", _MAX_NAME)
        param = model.param(name)
        if param is None:
            raise invalid(
                f"{field}.parameter",
                f"unknown parameter {name!r} for model {model.name} ({_known(model)})",
            )
        if name in request.fixed:
            raise invalid(
                f"{field}.parameter",
                f"{name} is also fixed in spec.parameters: sweep it or fix it, not both",
            )
        if name in swept:
            raise invalid(f"{field}.parameter", f"{name} is already swept by {swept[name]}")
        swept[name] = field
        kind = axis.WhichOneof("kind")
        one = _alone(model, param)
        if kind == "values":
            if design != "grid":
                raise invalid(
                    f"{field}.values",
                    f"a {design} design draws its points within ranges: give {field}.range",
                )
            given = request.values[i] or ()
            axes.append(_Axis(field, param, _values(one, given, f"{field}.values", max_points)))
        elif kind == "range":
            if design == "grid":
                axes.append(_Axis(field, param, _grid_range(one, axis.range, field, max_points)))
            else:
                _range_ends(one, axis.range, field)
                axes.append(_Axis(field, param, None, axis.range))
        else:
            raise invalid(field, f"give {name} values or a range")
    return axes


def _values(one: Model, given: Sequence[Any], field: str, max_points: int) -> tuple[Any, ...]:
    """A values axis, each value as its parameter takes it."""
    if not given:
        raise invalid(field, "give at least one value")
    if len(given) > max_points:
        raise invalid(field, f"at most {max_points:,} values, the most points a study may have")
    name = one.parameters[0].name
    seen: dict[Any, int] = {}
    for j, value in enumerate(given):
        checked = _checked_value(one, value, f"{field}[{j}]", label=f"{name} ")
        if checked in seen:
            raise invalid(f"{field}[{j}]", f"{name} {checked!r} is values[{seen[checked]}] again")
        seen[checked] = j
    return tuple(seen)


def _grid_range(
    one: Model, given: pb.StudyRange, axis_field: str, max_points: int
) -> tuple[Any, ...]:
    """A grid axis's range: `count` values from start to stop, both included."""
    field = f"{axis_field}.range"
    if given.count < 2:
        raise invalid(f"{field}.count", f"must be at least 2, got {given.count}")
    if given.count > max_points:
        raise invalid(
            f"{field}.count", f"must be at most {max_points:,}, the most points a study may have"
        )
    start, stop = _range_ends(one, given, axis_field)
    spaced = (np.geomspace if given.log else np.linspace)(start, stop, given.count)
    param = one.parameters[0]
    values = [round(x) for x in spaced.tolist()] if param.type == "int" else spaced.tolist()
    if len(set(values)) < len(values):
        raise invalid(
            field,
            f"{param.name} takes whole numbers: {given.count} points from {_fmt(start)} to "
            f"{_fmt(stop)} round to only {len(set(values))} different ones; ask for fewer",
        )
    return tuple(values)


def _range_ends(one: Model, given: pb.StudyRange, axis_field: str) -> tuple[float, float]:
    """start and stop of a range, each a value its parameter may take."""
    field = f"{axis_field}.range"
    param = one.parameters[0]
    if param.type not in ("int", "float"):
        raise invalid(field, f"{param.name} is a {param.type} parameter: sweep it with values")
    for end in ("start", "stop"):
        value = getattr(given, end)
        if not math.isfinite(value):
            raise invalid(f"{field}.{end}", f"must be a finite number, got {value}")
        if given.log and value <= 0:
            raise invalid(f"{field}.{end}", f"must be > 0 in a log range, got {_fmt(value)}")
        ending = round(value) if param.type == "int" else value
        _checked_value(one, ending, f"{field}.{end}", label=f"{param.name} ")
    if given.start == given.stop:
        raise invalid(
            field, f"start and stop are equal: hold {param.name} fixed in spec.parameters instead"
        )
    return given.start, given.stop


def _check_grid_size(axes: Sequence[_Axis], max_points: int) -> None:
    counts = [len(axis.values or ()) for axis in axes]
    size = math.prod(counts)
    if size > max_points:
        shape = " x ".join(f"{n:,}" for n in counts)
        raise invalid(
            "spec.axes",
            f"the grid has {shape} = {size:,} points; a study has at most {max_points:,} "
            f"({MAX_POINTS_SETTING})",
        )


def _sampled(axes: Sequence[_Axis], design: str, n: int, seed: int) -> list[tuple[Any, ...]]:
    """`n` points within the axes' ranges, drawn from the study's seed (the model's block
    streams are spawned children of a seed, SeedSequence(seed, spawn_key=(block,)), never the
    seed's own stream)."""
    rng = np.random.default_rng(seed)
    if design == "sobol":
        # scipy.stats takes a second or more to import: only Sobol studies pay for it.
        from scipy.stats import qmc

        # A power of two keeps the points' balance; the first n of them are used.
        units = qmc.Sobol(len(axes), scramble=True, rng=rng).random_base2((n - 1).bit_length())
        units = units[:n]
    else:
        units = rng.random((n, len(axes)))
    columns = []
    for k, axis in enumerate(axes):
        assert axis.range is not None
        start, stop = axis.range.start, axis.range.stop
        if axis.range.log:
            drawn = np.exp(math.log(start) + units[:, k] * (math.log(stop) - math.log(start)))
        else:
            drawn = start + units[:, k] * (stop - start)
        # Rounding must not carry a value past its range's ends.
        drawn = np.clip(drawn, min(start, stop), max(start, stop))
        if axis.param.type == "int":
            columns.append([round(x) for x in drawn.tolist()])
        else:
            columns.append(drawn.tolist())
    return list(zip(*columns, strict=True))


def _plan_point(
    runnable: Runnable,
    max_shards: int,
    index: int,
    parameters: dict[str, Any],
    seed: int,
    shards: int,
    precision: pb.Precision | None,
    no_cache: bool,
    axes: Sequence[_Axis],
    where: tuple[int | None, ...],
) -> PointPlan:
    """One point, planned as a submission of its parameters is; INVALID_ARGUMENT naming the
    spec's field that gave the offending value, and the point."""
    try:
        job = plan_job(
            runnable,
            max_shards,
            parameters,
            seed,
            shards,
            "",
            precision=precision,
            no_cache=no_cache,
        )
    except SimlabError as error:
        if error.code is not Code.INVALID_ARGUMENT or error.field is None:
            raise
        swept = ", ".join(f"{axis.param.name}={parameters[axis.param.name]!r}" for axis in axes)
        at = f"at point {index} ({swept})"
        name = error.field.removeprefix("parameters.")
        if name == error.field:
            raise invalid(f"spec.{error.field}", f"{error.description}; {at}") from None
        for axis, position in zip(axes, where, strict=True):
            if axis.param.name == name:
                field = axis.value_field(position)
                raise invalid(field, f"{name} {error.description}; {at}") from None
        raise invalid(f"spec.parameters.{name}", f"{error.description}; {at}") from None
    return PointPlan(job.parameters, job.seed, job.block_size, job.samples_total)


def _alone(model: Model, param: Param) -> Model:
    """The model with `param` as its only parameter: its values checked by the code that
    checks a submission's, without the checks that span parameters."""
    return dataclasses.replace(model, parameters=(param,), check=lambda params: None)


def _checked_value(one: Model, value: Any, field: str, label: str) -> Any:
    """`value` as the model's one parameter takes it; INVALID_ARGUMENT naming `field`, its
    message starting with `label`."""
    param = one.parameters[0]
    if value is None:
        raise invalid(field, f"{label}needs a value, got null")
    check_values(value, field)
    try:
        return validate(one, {param.name: value})[param.name]
    except SimlabError as error:
        raise invalid(field, f"{label}{error.description}") from None


def _known(model: Model) -> str:
    return "known: " + ", ".join(sorted(p.name for p in model.parameters))


def _fmt(x: float) -> str:
    return f"{x:g}"
