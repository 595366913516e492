"""Registration's inspection of real files: kinds, determinism, imports and every refusal
with the file and line to fix."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from simlab.core.blocks import block_rng
from simlab.core.params import validate
from simlab.core.stats import merge_in_order
from simlab.models.registry import catalogue
from simlab.v1 import simulation_pb2 as pb

if TYPE_CHECKING:
    from conftest import UserCode

SIMULATE = """
    import numpy as np

    def simulate(rng, n, *, scale: float = 1.0):
        return rng.random(n) * scale
"""


def test_global_random_state_is_not_deterministic_but_still_registers(
    user_code: UserCode,
) -> None:
    code = """
        import numpy as np

        def simulate(rng, n, *, scale: float = 1.0):
            return np.random.random(n) * scale
    """
    model = user_code.inspect(code)
    assert not model.reproducible
    assert len(model.warnings) == 1
    assert model.warnings[0].startswith("not deterministic: block 0 gave different results")
    assert "rng argument" in model.warnings[0]

    # It still runs; the pilot seeds the global generators, so every shard bins alike.
    a, b = user_code.load(code).model, user_code.load(code).model
    assert a is not None and b is not None
    params = validate(a, {"samples": 2_000})
    merged = merge_in_order(
        [a.simulate(params, block_rng(0, 0), 1_000), b.simulate(params, block_rng(0, 1), 1_000)]
    )
    assert merged.samples == 2_000


def test_python_random_is_not_deterministic_either(user_code: UserCode) -> None:
    model = user_code.inspect(
        """
        import random
        import numpy as np

        def simulate(rng, n):
            return np.array([random.random() for _ in range(n)])
        """
    )
    assert not model.reproducible and model.imports == ["numpy", "random"]


def test_wrong_return_shapes(user_code: UserCode) -> None:
    cases = {
        "rng.random((n, 2))": "got an array of shape (16, 2) for n=16",
        "float(rng.random())": "got float",
        "rng.random(n - 1)": "got an array of shape (15,) for n=16",
        '{"a": rng.random(n), "b": rng.random(3)}': "got a dict whose 'b' is an array of shape",
        "{}": "got an empty dict",
        '{"a": ["x"] * n}': "got a dict whose 'a' is an array of dtype <U1",
        '{"value": rng.random(n), "value_stderr": rng.random(n)}': "clash in the summary",
    }
    for expression, got in cases.items():
        error = user_code.error(
            f"import numpy as np\n\ndef simulate(rng, n):\n    return {expression}\n"
        )
        assert str(error).startswith("model.py:3: "), str(error)
        assert got in str(error), str(error)
        assert error.line == 3
    message = str(user_code.error("def simulate(rng, n):\n    return None\n"))
    assert message == (
        "model.py:1: simulate must return a 1-D array of n samples or a dict of them (got NoneType)"
    )


def test_a_shape_that_goes_wrong_only_on_bigger_blocks(user_code: UserCode) -> None:
    error = user_code.error(
        "import numpy as np\n\ndef simulate(rng, n):\n    return rng.random(min(n, 100))\n"
    )
    assert str(error).startswith("model.py:3: simulate must return")
    assert "shape (100,) for n=1000" in str(error)


def test_an_exception_in_simulate_points_at_its_line(user_code: UserCode) -> None:
    error = user_code.error(
        """
        import numpy as np

        def simulate(rng, n, *, scale: float = 1.0):
            x = rng.random(n)
            return x / helper(scale)

        def helper(scale):
            raise ZeroDivisionError("scale too small")
        """
    )
    assert str(error) == (
        "model.py:8: simulate failed when called with n=16 at the default parameters: "
        "ZeroDivisionError: scale too small"
    )
    assert error.line == 8
    assert "Traceback" in error.traceback and "helper" in error.traceback


def test_a_missing_package_is_named_with_file_and_line(user_code: UserCode) -> None:
    error = user_code.error(
        '"""Uses QuantLib."""\nimport numpy as np\nimport quantlib_nowhere\n'
        + "def simulate(rng, n):\n    return rng.random(n)\n"
    )
    assert str(error).startswith(
        "model.py:3: imports 'quantlib_nowhere', which the runtime does not have "
        "(ModuleNotFoundError). No package is installed at run time"
    )
    assert 'README "Extending the runtime"' in str(error)
    assert error.line == 3


def test_a_missing_package_in_a_bundled_helper(user_code: UserCode) -> None:
    error = user_code.error(
        "from pricing_helpers import payoff\n\ndef simulate(rng, n):\n    return payoff(rng, n)\n",
        files={"pricing_helpers.py": "import numpy\nfrom nowhere_pkg.sub import thing\n"},
    )
    assert str(error).startswith(
        "pricing_helpers.py:2: imports 'nowhere_pkg', which the runtime does not have"
    )


def test_bundled_modules_load_and_are_not_recorded_as_imports(user_code: UserCode) -> None:
    model = user_code.inspect(
        "from payoffs import call\nimport tools.draw\n\n"
        "def simulate(rng, n):\n    return call(tools.draw.normals(rng, n))\n",
        files={
            "payoffs.py": "import numpy as np\n\ndef call(x):\n    return np.maximum(x, 0)\n",
            "tools/__init__.py": "",
            "tools/draw.py": "import math\n\ndef normals(rng, n):\n    return rng.normal(size=n)\n",
        },
    )
    assert model.imports == ["math", "numpy"]
    assert list(model.files) == ["model.py", "payoffs.py", "tools/__init__.py", "tools/draw.py"]
    assert model.reproducible


def test_a_syntax_error_gives_its_line(user_code: UserCode) -> None:
    error = user_code.error("import numpy as np\n\ndef simulate(rng, n):\n    return (\n")
    assert str(error).startswith("model.py:4: syntax error: ")
    assert error.line == 4


def test_a_syntax_error_in_a_bundled_file(user_code: UserCode) -> None:
    error = user_code.error(SIMULATE, files={"extra.py": "x = 1\nif x\n"})
    assert str(error).startswith("extra.py:2: syntax error: ")


def test_an_error_while_importing(user_code: UserCode) -> None:
    error = user_code.error(
        "import numpy as np\nTABLE = np.load('missing.npy')\n"
        + "def simulate(rng, n):\n    return rng.random(n)\n"
    )
    assert str(error).startswith("model.py:2: importing model.py failed: FileNotFoundError: ")


def test_a_file_without_simulate_or_model_is_a_script_and_is_not_run(
    user_code: UserCode,
) -> None:
    code = '''
        """Rosenbrock by Nelder-Mead.

        Writes plot.png and summary.json."""
        import json
        import numpy as np
        from scipy.optimize import minimize, rosen
        try:
            import not_installed_accelerator
        except ImportError:
            not_installed_accelerator = None

        raise SystemExit("a script must not run at registration")
    '''
    model = user_code.inspect(code, name="rosen")
    assert model.kind == pb.MODEL_KIND_SCRIPT
    assert model.title == "Rosenbrock by Nelder-Mead."
    assert model.description.endswith("Writes plot.png and summary.json.")
    assert not model.parameters and not model.outputs and not model.reproducible
    assert model.imports == ["json", "not_installed_accelerator", "numpy", "scipy"]

    loaded = user_code.load(code)
    assert (loaded.kind, loaded.model) == ("script", None)
    assert loaded.entry == loaded.directory / "model.py" and loaded.entry.is_file()


def test_a_script_importing_a_missing_package(user_code: UserCode) -> None:
    error = user_code.error("import sys\n\nimport quantlib_nowhere.pricing as q\nprint(q)\n")
    assert str(error).startswith(
        "model.py:3: imports 'quantlib_nowhere', which the runtime does not have."
    )
    assert error.line == 3


def test_a_script_with_a_syntax_error(user_code: UserCode) -> None:
    error = user_code.error("print('hello')\nfor x in range(3)\n    print(x)\n")
    assert str(error).startswith("model.py:2: syntax error: ")


MODEL_FORM = '''
    """A full MODEL: the built-in API."""
    import numpy as np
    from simlab.core.stats import Moments, Stats
    from simlab.models.base import Model, Output, Param

    def simulate(params, rng, n):
        return Stats(samples=n, moments={"mean": Moments.of(rng.random(n))})

    MODEL = Model(
        name="whatever",
        title="Uniform mean",
        description="The mean of U(0, 1).",
        parameters=(Param("draws", "Draws", "int", default=10_000, minimum=1, sample_count=True),),
        outputs=(Output("mean", "Mean"), Output("exact", "Exact")),
        primary_output="mean",
        block_size=lambda params: min(params["draws"], 2_500),
        simulate=simulate,
        summarize=lambda params, stats: {"mean": stats.moments["mean"].mean, "exact": 0.5},
        reference="exact",
    )
'''


def test_a_model_form_file(user_code: UserCode) -> None:
    model = user_code.inspect(MODEL_FORM, name="uniform")
    assert model.kind == pb.MODEL_KIND_BLOCKS
    assert (model.name, model.title, model.primary_output) == ("uniform", "Uniform mean", "mean")
    assert model.reference_output == "exact"
    assert [p.name for p in model.parameters] == ["draws"]
    assert model.block_size == 2_500
    assert model.reproducible and not model.warnings
    assert model.imports == ["numpy", "simlab"]

    loaded = user_code.load(MODEL_FORM, name="uniform")
    assert loaded.kind == "blocks" and loaded.model is not None
    assert loaded.model.name == "uniform"


def test_a_model_form_file_with_a_bad_model(user_code: UserCode) -> None:
    error = user_code.error("import math\n\nMODEL = {'name': 'x'}\n")
    assert str(error) == "model.py:3: MODEL must be a simlab.models.base.Model (got dict)"
    bad_primary = MODEL_FORM.replace('primary_output="mean"', 'primary_output="nope"')
    assert "primary_output is not one of its outputs" in str(user_code.error(bad_primary))
    wrong_stats = MODEL_FORM.replace(
        'moments={"mean": Moments.of(rng.random(n))}', 'moments={"other": Moments()}'
    )
    assert "simulate must return Stats with moments['mean']" in str(user_code.error(wrong_stats))


def test_simulate_that_is_not_a_function(user_code: UserCode) -> None:
    assert (
        str(user_code.error("simulate = 3\n")) == "model.py:1: simulate is not a function (got int)"
    )


def test_a_model_form_file_whose_made_up_values_fail_is_registered_with_a_warning(
    user_code: UserCode,
) -> None:
    code = MODEL_FORM.replace(
        "default=10_000, minimum=1, sample_count=True),)",
        'default=10_000, minimum=1, sample_count=True), Param("k", "K", "float"))',
    ).replace(
        "def simulate(params, rng, n):",
        "def simulate(params, rng, n):\n        1 / (params['k'] - 1)",
    )
    model = user_code.inspect(code)
    assert not model.reproducible
    assert model.warnings == [
        "not checked for determinism: it failed at made-up values for k (no default): "
        "model.py:7: simulate failed on block 0 at the default parameters: "
        "ZeroDivisionError: float division by zero"
    ]


def test_every_built_in_model_passes_inspection_as_the_gateway_seeds_it(
    user_code: UserCode,
) -> None:
    for name, model in catalogue().items():
        path = Path(sys.modules[model.simulate.__module__].__file__ or "")
        inspected = user_code.inspect(path.read_text(), name=name)
        assert inspected.kind == pb.MODEL_KIND_BLOCKS, name
        assert inspected.reproducible and not inspected.warnings, name
        assert inspected.primary_output == model.primary_output, name
        assert inspected.reference_output == (model.reference or ""), name
