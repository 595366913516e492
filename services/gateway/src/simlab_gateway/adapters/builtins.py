"""The built-in models' code: each catalogue model's module source, as the bundle the gateway
registers for it at start (so workers load built-in and pushed models the same way)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path

from simlab.bundle import from_source
from simlab.models.base import Model
from simlab_gateway.core.models import Builtin
from simlab_gateway.transport.models import model_to_proto


def builtin_models(catalogue: Mapping[str, Model]) -> dict[str, Builtin]:
    builtins = {}
    for name, model in catalogue.items():
        module = inspect.getmodule(model.simulate)
        source_file = inspect.getsourcefile(module) if module else None
        if module is None or source_file is None:
            raise ValueError(f"model {name}: cannot find the source of its module")
        code = from_source(Path(source_file).read_text(), entry=Path(source_file).name)
        builtins[name] = Builtin(model, code, model_to_proto(model, code))
    return builtins
