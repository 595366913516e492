"""The model catalogue: every `Model` exposed under the `simlab.models` entry-point group."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from simlab.models.base import Model

GROUP = "simlab.models"


@functools.cache
def catalogue() -> dict[str, Model]:
    models: dict[str, Model] = {}
    for ep in entry_points(group=GROUP):
        model = ep.load()
        if not isinstance(model, Model):
            raise TypeError(f"entry point {ep.name} = {ep.value} is not a simlab Model")
        check(model)
        if model.name in models:
            raise ValueError(f"two models are named {model.name!r}")
        models[model.name] = model
    return dict(sorted(models.items()))


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
