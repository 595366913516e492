"""Model schemas as the API describes them (simlab.v1.Model), both ways: a model's schema as
the registry records it, and a recorded version back as the schema parameters are validated
against (its code runs on workers only)."""

from __future__ import annotations

from typing import Any, NoReturn

from google.protobuf import struct_pb2

from simlab.models.base import Model, Output, Param, ParamType
from simlab.v1 import simulation_pb2 as pb

_TYPES: dict[ParamType, pb.ParameterType] = {
    "float": pb.PARAMETER_TYPE_FLOAT,
    "int": pb.PARAMETER_TYPE_INT,
    "choice": pb.PARAMETER_TYPE_CHOICE,
    "bool": pb.PARAMETER_TYPE_BOOL,
}
_NAMES = {number: name for name, number in _TYPES.items()}


def schema_to_proto(model: Model) -> pb.Model:
    """The schema part of a version: title, description, parameters, outputs, primary and
    reference outputs."""
    return pb.Model(
        name=model.name,
        title=model.title,
        description=model.description,
        parameters=[_param(p) for p in model.parameters],
        outputs=[
            pb.Output(name=o.name, label=o.label, unit=o.unit, help=o.help) for o in model.outputs
        ],
        primary_output=model.primary_output,
        reference_output=model.reference or "",
    )


def schema_from_proto(version: pb.Model) -> Model:
    """The schema of a recorded BLOCKS version, to validate parameters against: its block
    size is the recorded one, and its code runs on workers only."""
    return Model(
        name=version.name,
        title=version.title,
        description=version.description,
        parameters=tuple(_param_from_proto(p) for p in version.parameters),
        outputs=tuple(Output(o.name, o.label, o.unit, o.help) for o in version.outputs),
        primary_output=version.primary_output,
        block_size=lambda params: version.block_size,
        simulate=_runs_on_workers,
        summarize=_runs_on_workers,
        reference=version.reference_output or None,
    )


def _runs_on_workers(*args: object) -> NoReturn:
    raise RuntimeError("a registered model's code runs on workers, never in the gateway")


def _param(param: Param) -> pb.Parameter:
    out = pb.Parameter(
        name=param.name,
        label=param.label,
        type=_TYPES[param.type],
        exclusive_minimum=param.exclusive_minimum,
        exclusive_maximum=param.exclusive_maximum,
        unit=param.unit,
        help=param.help,
        choices=list(param.choices),
        is_sample_count=param.sample_count,
    )
    if param.default is not None:
        value = struct_pb2.Value()
        if isinstance(param.default, bool):
            value.bool_value = param.default
        elif isinstance(param.default, int | float):
            value.number_value = float(param.default)
        else:
            value.string_value = str(param.default)
        out.default.CopyFrom(value)
    if param.minimum is not None:
        out.minimum = param.minimum
    if param.maximum is not None:
        out.maximum = param.maximum
    return out


def _param_from_proto(param: pb.Parameter) -> Param:
    kind = _NAMES.get(param.type)
    if kind is None:
        raise ValueError(f"parameter {param.name} has no type")
    return Param(
        name=param.name,
        label=param.label,
        type=kind,
        default=_default(kind, param.default) if param.HasField("default") else None,
        minimum=param.minimum if param.HasField("minimum") else None,
        maximum=param.maximum if param.HasField("maximum") else None,
        exclusive_minimum=param.exclusive_minimum,
        exclusive_maximum=param.exclusive_maximum,
        unit=param.unit,
        help=param.help,
        choices=tuple(param.choices),
        sample_count=param.is_sample_count,
    )


def _default(kind: ParamType, value: struct_pb2.Value) -> Any:
    """The default as the parameter's own type (JSON numbers are floats)."""
    which = value.WhichOneof("kind")
    if which == "bool_value":
        return value.bool_value
    if which == "string_value":
        return value.string_value
    if which == "number_value":
        return int(value.number_value) if kind == "int" else value.number_value
    return None
