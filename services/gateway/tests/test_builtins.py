"""The built-in models' code, as the gateway registers it: their module's source."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

from simlab.models.registry import catalogue
from simlab_gateway.adapters.builtins import builtin_models

TWO_MODELS = """
from simlab.core.stats import Moments, Stats
from simlab.models.base import Model, Output, Param


def _simulate(params, rng, n):
    return Stats(n, {"x": Moments.of(rng.random(n))})


def _model(name):
    return Model(
        name, name.title(), "", (Param("samples", "Samples", "int", 10, sample_count=True),),
        (Output("x", "X"),), "x", lambda p: 10, _simulate, lambda p, s: {},
    )


MODELS = [_model("first"), _model("second")]
"""


def test_a_model_module_is_its_models_code() -> None:
    pi = builtin_models(catalogue())["pi"]
    assert (pi.code.entry, list(pi.code.files)) == ("pi.py", ["pi.py"])
    source = Path(importlib.import_module("simlab.models.pi").__file__ or "").read_bytes()
    assert pi.code.files["pi.py"] == source
    assert pi.registration.code_sha256 == pi.code.sha256


def test_a_module_of_several_models_gets_an_entry_that_picks_one(tmp_path: Path) -> None:
    (tmp_path / "two_models.py").write_text(textwrap.dedent(TWO_MODELS))
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("two_models")
        builtins = builtin_models({m.name: m for m in module.MODELS})
        second = builtins["second"].code
        assert second.entry == "builtin_second.py"
        assert sorted(second.files) == ["builtin_second.py", "two_models.py"]
        namespace: dict[str, object] = {}
        exec(second.files["builtin_second.py"], namespace)
        assert namespace["MODEL"] is module.MODELS[1]
        assert builtins["first"].code.sha256 != second.sha256
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("two_models", None)
