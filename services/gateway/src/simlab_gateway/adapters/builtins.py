"""The built-in models' code: each catalogue model's module source, as the bundle the gateway
registers for it at start (so workers load built-in and pushed models the same way)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path

from simlab.bundle import Bundle, check, from_source
from simlab.models.base import Model
from simlab_gateway.core.models import Builtin
from simlab_gateway.transport.models import model_to_proto


def builtin_models(catalogue: Mapping[str, Model]) -> dict[str, Builtin]:
    builtins = {}
    for name, model in catalogue.items():
        code = _code(model)
        builtins[name] = Builtin(model, code, model_to_proto(model, code))
    return builtins


def _code(model: Model) -> Bundle:
    """The module that defines the model, as its entry. A module of several models (MODELS,
    see simlab.models.registry) comes with an entry that picks this one as its MODEL."""
    module = inspect.getmodule(model.simulate)
    source_file = inspect.getsourcefile(module) if module else None
    if module is None or source_file is None:
        raise ValueError(f"model {model.name}: cannot find the source of its module")
    path = Path(source_file)
    if getattr(module, "MODEL", None) is model:
        return from_source(path.read_text(), entry=path.name)
    if not any(m is model for m in getattr(module, "MODELS", ())):
        raise ValueError(
            f"model {model.name}: {module.__name__} has it in neither MODEL nor MODELS"
        )
    entry = f"builtin_{model.name}.py"
    picker = (
        f'"""The built-in model {model.name}, one of {path.stem}.MODELS."""\n\n'
        f"from {path.stem} import MODELS\n\n"
        f"MODEL = next(m for m in MODELS if m.name == {model.name!r})\n"
    )
    files = {path.name: path.read_bytes(), entry: picker.encode()}
    check(files, entry)
    return Bundle(entry, files)
