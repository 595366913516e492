"""Model versions on the wire: a built-in model with its code as RegisterBuiltinModel takes it,
and a recorded version back as the schema parameters are validated against."""

from __future__ import annotations

import pytest

from services.gateway.tests.fakes import TOY, TOY_CODE
from simlab.models.registry import catalogue
from simlab.transport.models import schema_from_proto
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.transport.models import model_to_proto


def test_a_builtin_is_recorded_with_its_code() -> None:
    version = model_to_proto(TOY, TOY_CODE)
    assert (version.builtin, version.public, version.kind) == (True, True, pb.MODEL_KIND_BLOCKS)
    assert (version.code_sha256, version.code_size) == (TOY_CODE.sha256, TOY_CODE.size)
    assert (version.entry, list(version.files)) == ("toy.py", ["toy.py"])
    # Its code decides the block size; the store decides version, owner and created_at.
    assert (version.block_size, version.version, version.owner) == (0, 0, "")


@pytest.mark.parametrize("name", sorted(catalogue()))
def test_a_recorded_schema_is_the_models(name: str) -> None:
    model = catalogue()[name]
    schema = schema_from_proto(model_to_proto(model, TOY_CODE))
    assert schema.parameters == model.parameters
    assert (schema.outputs, schema.primary_output) == (model.outputs, model.primary_output)
    assert schema.reference == model.reference
    # Defaults keep their type: an int parameter's is an int, not JSON's float.
    ints = [p.default for p in schema.parameters if p.type == "int" and p.default is not None]
    assert all(type(default) is int for default in ints)


def test_the_recorded_block_size_and_no_code() -> None:
    schema = schema_from_proto(pb.Model(name="x", block_size=123))
    assert schema.block_size({}) == 123
    with pytest.raises(RuntimeError, match="runs on workers"):
        schema.simulate({}, None, 1)  # type: ignore[arg-type]
