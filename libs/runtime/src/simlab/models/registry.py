"""The model catalogue: every `Model` exposed under the `simlab.models` entry-point group,
plus those of the modules named in SIMLAB_MODEL_MODULES (comma-separated; each module exposes
MODEL or MODELS), for trying a model before packaging it."""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Iterator
from importlib.metadata import entry_points

from simlab.models.base import Model

GROUP = "simlab.models"


@functools.cache
def catalogue() -> dict[str, Model]:
    models: dict[str, Model] = {}
    for origin, model in _discovered():
        if not isinstance(model, Model):
            raise TypeError(f"{origin} is not a simlab Model")
        check(model)
        if model.name in models:
            raise ValueError(f"two models are named {model.name!r}")
        models[model.name] = model
    return dict(sorted(models.items()))


def _discovered() -> Iterator[tuple[str, object]]:
    for ep in entry_points(group=GROUP):
        yield f"entry point {ep.name} = {ep.value}", ep.load()
    for name in filter(None, os.environ.get("SIMLAB_MODEL_MODULES", "").split(",")):
        module = importlib.import_module(name.strip())
        found = getattr(module, "MODELS", None) or [getattr(module, "MODEL", None)]
        for model in found:
            yield f"{name}.MODEL(S)", model


def check(model: Model) -> None:
    """Fails on a schema that could never validate or stream progress."""
    counts = [p for p in model.parameters if p.sample_count]
    if len(counts) != 1 or counts[0].type != "int":
        raise ValueError(f"model {model.name}: exactly one int parameter must be the sample count")
    if model.primary_output not in {o.name for o in model.outputs}:
        raise ValueError(f"model {model.name}: primary_output is not one of its outputs")
    for p in model.parameters:
        if p.type == "choice" and p.default is not None and p.default not in p.choices:
            raise ValueError(f"model {model.name}: default of {p.name} is not a choice")
