"""A built-in model with its code as the version the job store records (the schema's
conversions both ways are simlab.transport.models)."""

from __future__ import annotations

from simlab.bundle import Bundle
from simlab.models.base import Model
from simlab.transport.models import schema_to_proto
from simlab.v1 import simulation_pb2 as pb


def model_to_proto(model: Model, code: Bundle) -> pb.Model:
    """A built-in model whose code is `code` (its module's source), for RegisterBuiltinModel:
    version, owner and created_at are the job store's; its code decides the block size."""
    version = schema_to_proto(model)
    version.MergeFrom(
        pb.Model(
            public=True,
            builtin=True,
            kind=pb.MODEL_KIND_BLOCKS,
            code_sha256=code.sha256,
            code_size=code.size,
            entry=code.entry,
            files=sorted(code.files),
            reproducible=True,
        )
    )
    return version
