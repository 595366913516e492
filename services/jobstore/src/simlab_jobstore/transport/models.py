"""The model registry's domain objects <-> simlab.v1 Model. A stored version keeps its typed
interface as a serialized Model (title, description, parameters, outputs, primary_output,
reference_output); the version's own fields are added when it is read back."""

from __future__ import annotations

from simlab.common.errors import invalid
from simlab.jobstore.v1 import jobstore_pb2 as store_pb
from simlab.v1 import simulation_pb2 as pb

from ..core.models import Inspection, ModelKind, ModelVersion, Parameter, Registration
from .convert import timestamp

_KIND_TO_PB: dict[ModelKind, pb.ModelKind] = {
    ModelKind.BLOCKS: pb.MODEL_KIND_BLOCKS,
    ModelKind.SCRIPT: pb.MODEL_KIND_SCRIPT,
}
_KIND_FROM_PB = {number: kind for kind, number in _KIND_TO_PB.items()}
_PARAMETER_TYPES: dict[int, str] = {
    pb.PARAMETER_TYPE_FLOAT: "float",
    pb.PARAMETER_TYPE_INT: "int",
    pb.PARAMETER_TYPE_CHOICE: "choice",
    pb.PARAMETER_TYPE_BOOL: "bool",
}


def registration_from_pb(request: store_pb.BeginRegistrationRequest) -> Registration:
    return Registration(
        owner=request.owner,
        name=request.name,
        public=request.public,
        code_sha256=request.code_sha256,
        code_size=request.code_size,
        entry=request.entry,
        files=tuple(request.files),
    )


def inspection_from_pb(model: pb.Model) -> Inspection:
    """What a worker's (or a built-in's) Model says about the code; Inspection.check decides
    whether it is sane."""
    try:
        kind = _KIND_FROM_PB[model.kind]
    except KeyError:
        raise invalid("model.kind", "must be BLOCKS or SCRIPT") from None
    schema = pb.Model(
        title=model.title,
        description=model.description,
        parameters=model.parameters,
        outputs=model.outputs,
        primary_output=model.primary_output,
        reference_output=model.reference_output,
    )
    return Inspection(
        kind=kind,
        parameters=tuple(
            Parameter(
                name=parameter.name,
                type=_PARAMETER_TYPES.get(parameter.type, ""),
                sample_count=parameter.is_sample_count,
                choices=tuple(parameter.choices),
            )
            for parameter in model.parameters
        ),
        outputs=tuple(output.name for output in model.outputs),
        primary_output=model.primary_output,
        reference_output=model.reference_output,
        block_size=model.block_size,
        imports=tuple(model.imports),
        warnings=tuple(model.warnings),
        reproducible=model.reproducible,
        runtime=model.runtime,
        schema=schema.SerializeToString(deterministic=True),
    )


def builtin_from_pb(model: pb.Model) -> tuple[Registration, Inspection]:
    """A built-in's code (owned by no one) and what its catalogue entry says about it."""
    registration = Registration(
        owner="",
        name=model.name,
        public=model.public,
        code_sha256=model.code_sha256,
        code_size=model.code_size,
        entry=model.entry,
        files=tuple(model.files),
    )
    return registration, inspection_from_pb(model)


def model_to_pb(version: ModelVersion) -> pb.Model:
    message = pb.Model.FromString(version.schema)
    message.MergeFrom(
        pb.Model(
            name=version.name,
            version=version.version,
            owner=version.owner,
            public=version.public,
            builtin=version.builtin,
            kind=_KIND_TO_PB[version.kind],
            code_sha256=version.code_sha256,
            code_size=version.code_size,
            entry=version.entry,
            files=version.files,
            imports=version.imports,
            warnings=version.warnings,
            reproducible=version.reproducible,
            runtime=version.runtime,
            created_at=timestamp(version.created_at),
            block_size=version.block_size,
        )
    )
    return message
