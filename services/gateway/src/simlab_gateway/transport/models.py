"""Model schemas as the API describes them."""

from __future__ import annotations

from google.protobuf import struct_pb2

from simlab.models.base import Model, Param
from simlab.v1 import simulation_pb2 as pb

_TYPES = {
    "float": pb.PARAMETER_TYPE_FLOAT,
    "int": pb.PARAMETER_TYPE_INT,
    "choice": pb.PARAMETER_TYPE_CHOICE,
    "bool": pb.PARAMETER_TYPE_BOOL,
}


def model_to_proto(model: Model) -> pb.Model:
    return pb.Model(
        name=model.name,
        title=model.title,
        description=model.description,
        parameters=[_param(p) for p in model.parameters],
        outputs=[
            pb.Output(name=o.name, label=o.label, unit=o.unit, help=o.help) for o in model.outputs
        ],
        primary_output=model.primary_output,
    )


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
