"""core/ is the runner's logic alone: it imports nothing of the runner outside core, no
adapter, and reads no environment (its settings come in as data). Of the shared libraries it
uses the wire types, the error type and what a job's stop means for its shards."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).parents[1] / "src" / "simlab_runner" / "core"
ALLOWED = ("simlab_runner.core", "simlab.common.errors", "simlab.v1", "simlab.transport.precision")


def imported(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda path: path.name)
def test_core_depends_on_core_the_wire_types_and_the_error_type_only(path: Path) -> None:
    for name in imported(path):
        if name.startswith(("simlab.", "simlab_runner")):
            assert name.startswith(ALLOWED), f"{path.name} imports {name}"
        assert name != "os", f"{path.name} imports os"
