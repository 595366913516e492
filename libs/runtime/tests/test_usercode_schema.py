"""The schema of a function-form model, inferred from simulate's keyword-only parameters,
and each error with the parameter's name and line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from simlab.v1 import simulation_pb2 as pb

if TYPE_CHECKING:
    from conftest import UserCode


def params_of(user_code: UserCode, code: str) -> dict[str, pb.Parameter]:
    return {p.name: p for p in user_code.inspect(code).parameters}


def test_plain_annotations_defaults_and_labels(user_code: UserCode) -> None:
    params = params_of(
        user_code,
        """
        import numpy as np

        def simulate(rng, n, *, spot_price: float = 100, steps: int = 12, antithetic: bool = False,
                     strike: float):
            return np.zeros(n)
        """,
    )
    assert list(params) == ["spot_price", "steps", "antithetic", "strike", "samples"]
    spot = params["spot_price"]
    assert (spot.type, spot.label, spot.default.number_value) == (
        pb.PARAMETER_TYPE_FLOAT, "Spot price", 100.0,
    )  # fmt: skip
    assert not spot.HasField("minimum") and not spot.HasField("maximum")
    assert (params["steps"].type, params["steps"].default.number_value) == (
        pb.PARAMETER_TYPE_INT, 12,
    )  # fmt: skip
    assert params["antithetic"].type == pb.PARAMETER_TYPE_BOOL
    assert params["antithetic"].default.WhichOneof("kind") == "bool_value"
    assert not params["strike"].HasField("default")  # required
    samples = params["samples"]
    assert samples.is_sample_count and samples.default.number_value == 1_000_000


def test_required_parameters_are_checked_at_made_up_values(user_code: UserCode) -> None:
    model = user_code.inspect(
        """
        from typing import Annotated
        import numpy as np
        import simlab

        def simulate(rng, n, *, strike: Annotated[float, simlab.Param(gt=10)], count: int):
            assert strike == 11.0 and count == 1, (strike, count)
            return rng.random(n) * strike
        """
    )
    assert model.reproducible and not model.warnings
    assert not model.parameters[0].HasField("default")


def test_required_parameters_whose_made_up_values_fail(user_code: UserCode) -> None:
    error = user_code.error(
        """
        import numpy as np

        def simulate(rng, n, *, strike: float, steps: int = 3):
            if strike < 50:
                raise ValueError("strike below 50")
            return rng.random(n)
        """
    )
    assert str(error) == (
        "model.py:5: simulate failed when called with n=16 at the default parameters "
        "(strike=1.0: made up, no default): ValueError: strike below 50"
    )


def test_literal_is_a_choice(user_code: UserCode) -> None:
    params = params_of(
        user_code,
        """
        from typing import Literal
        import numpy as np

        def simulate(rng, n, *, option: Literal["call", "put"] = "put"):
            return np.zeros(n)
        """,
    )
    option = params["option"]
    assert option.type == pb.PARAMETER_TYPE_CHOICE
    assert list(option.choices) == ["call", "put"]
    assert option.default.string_value == "put"


def test_annotated_with_simlab_param(user_code: UserCode) -> None:
    params = params_of(
        user_code,
        """
        from __future__ import annotations

        from typing import Annotated
        import numpy as np
        import simlab

        def simulate(
            rng, n, *,
            rate: Annotated[float, simlab.Param(gt=-1, le=1, unit="1/year", help="r")] = 0.05,
            vol: Annotated[float, simlab.Param(ge=0, lt=5, label="Volatility (sigma)")] = 0.2,
            steps: Annotated[int, simlab.Param(ge=1)] = 12,
        ):
            return np.zeros(n)
        """,
    )
    rate, vol, steps = params["rate"], params["vol"], params["steps"]
    assert (rate.minimum, rate.exclusive_minimum, rate.maximum, rate.exclusive_maximum) == (
        -1, True, 1, False,
    )  # fmt: skip
    assert (rate.unit, rate.help, rate.label) == ("1/year", "r", "Rate")
    assert (vol.minimum, vol.exclusive_minimum, vol.maximum, vol.exclusive_maximum) == (
        0, False, 5, True,
    )  # fmt: skip
    assert vol.label == "Volatility (sigma)"
    assert steps.type == pb.PARAMETER_TYPE_INT and steps.minimum == 1


def test_annotated_types_bounds_are_read_by_name(user_code: UserCode) -> None:
    """annotated_types' Gt/Ge/Lt/Le, or any class of those names with .gt/.ge/.lt/.le: the
    runtime needs no such package."""
    params = params_of(
        user_code,
        """
        from dataclasses import dataclass
        from typing import Annotated
        import numpy as np

        @dataclass
        class Gt:
            gt: float

        @dataclass
        class Le:
            le: float

        def simulate(rng, n, *, x: Annotated[float, Gt(0), Le(2), "a note"] = 1.0):
            return np.zeros(n)
        """,
    )
    x = params["x"]
    assert (x.minimum, x.exclusive_minimum, x.maximum, x.exclusive_maximum) == (0, True, 2, False)


def test_the_annotated_types_package(user_code: UserCode) -> None:
    pytest.importorskip("annotated_types")
    params = params_of(
        user_code,
        """
        from typing import Annotated
        import annotated_types as at
        import numpy as np

        def simulate(rng, n, *, x: Annotated[int, at.Ge(1), at.Lt(10)] = 3,
                     y: Annotated[float, at.Interval(gt=0, le=1)] = 0.5):
            return np.zeros(n)
        """,
    )
    assert (params["x"].minimum, params["x"].maximum, params["x"].exclusive_maximum) == (
        1,
        10,
        True,
    )
    assert (params["y"].minimum, params["y"].exclusive_minimum, params["y"].maximum) == (0, True, 1)


def test_samples_and_block_size_constants(user_code: UserCode) -> None:
    model = user_code.inspect(
        """
        import numpy as np
        SAMPLES = 5_000
        BLOCK_SIZE = 500

        def simulate(rng, n, *, x: float = 1.0):
            return rng.random(n)
        """
    )
    assert model.parameters[-1].default.number_value == 5_000
    assert model.block_size == 500


def test_unannotated_parameters_take_the_type_of_their_default(user_code: UserCode) -> None:
    params = params_of(
        user_code,
        """
        import numpy as np

        def simulate(rng, n, *, a=1, b=2.5, c=True):
            return np.zeros(n)
        """,
    )
    assert [params[k].type for k in "abc"] == [
        pb.PARAMETER_TYPE_INT, pb.PARAMETER_TYPE_FLOAT, pb.PARAMETER_TYPE_BOOL,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (
            "rng, n, *,\n    steps: list[int] = 3",
            "model.py:4: parameter 'steps': annotation list[int] is not float, int, bool or "
            "Literal",
        ),
        (
            "rng, n, *,\n    kind: Literal[1, 2] = 1",
            "model.py:4: parameter 'kind': Literal choices must be strings (got Literal[1, 2])",
        ),
        (
            "rng, n,\n    steps,\n    *, x: float = 1",
            "model.py:4: parameter 'steps': simulate takes only (rng, n) positionally; "
            "make it keyword-only (after `*`) to turn it into a model parameter",
        ),
        ("rng, n, *args", "model.py:3: parameter 'args': *args is not allowed"),
        ("rng, n, **options", "model.py:3: parameter 'options': **kwargs is not allowed"),
        ("rng", "model.py:3: simulate must take (rng, n) positionally"),
        (
            "rng, n, *,\n    samples: int = 10",
            "model.py:4: parameter 'samples': the name is reserved for the sample count",
        ),
        (
            "rng, n, *,\n    flag: bool = 1",
            "model.py:4: parameter 'flag': default 1 is not True or False",
        ),
        (
            "rng, n, *,\n    steps: int = 2.5",
            "model.py:4: parameter 'steps': default 2.5 is not an integer",
        ),
        (
            'rng, n, *,\n    kind: Literal["a", "b"] = "c"',
            "model.py:4: parameter 'kind': default 'c' is not one of a, b",
        ),
        (
            "rng, n, *,\n    vol: Annotated[float, simlab.Param(gt=0)] = 0.0",
            "model.py:4: parameter 'vol': default must be > 0 (got 0)",
        ),
        (
            "rng, n, *,\n    vol: Annotated[float, simlab.Param(gt=0, ge=1)] = 2.0",
            "model.py:4: parameter 'vol': give either gt or ge, not both",
        ),
        (
            "rng, n, *,\n    vol: Annotated[float, simlab.Param(gt=2, lt=1)] = 2.0",
            "model.py:4: parameter 'vol': its bounds leave no value",
        ),
        (
            "rng, n, *,\n    on: Annotated[bool, simlab.Param(gt=0)] = True",
            "model.py:4: parameter 'on': bounds (gt) apply only to float and int parameters",
        ),
        (
            "rng, n, *,\n    x: 'Undefined' = 1.0",
            "model.py:4: parameter 'x': annotation Undefined cannot be evaluated "
            "(name 'Undefined' is not defined)",
        ),
        ("rng, n, *,\n    x=None", "model.py:4: parameter 'x': needs an annotation"),
    ],
)
def test_signature_errors_name_the_parameter_and_its_line(
    user_code: UserCode, signature: str, message: str
) -> None:
    code = (
        "from typing import Annotated, Literal\nimport simlab\n"
        f"def simulate({signature}):\n    return rng.random(n)\n"
    )
    error = user_code.error(code)
    assert str(error).startswith(message), str(error)
    assert error.line == int(message.split(":")[1])


@pytest.mark.parametrize(
    ("constant", "message"),
    [
        ("SAMPLES = 0", "model.py:2: SAMPLES must be a positive integer (got 0)"),
        ("BLOCK_SIZE = 1e4", "model.py:2: BLOCK_SIZE must be a positive integer (got 10000.0)"),
    ],
)
def test_bad_constants(user_code: UserCode, constant: str, message: str) -> None:
    code = f"import numpy as np\n{constant}\ndef simulate(rng, n):\n    return rng.random(n)\n"
    assert str(user_code.error(code)) == message
