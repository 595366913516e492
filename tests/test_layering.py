"""The shape of the code, checked from its imports (every import, function-level ones too):
no import cycle among our modules; each service's core/ imports nothing of its adapters,
transport or wiring and reads no environment; each workspace package imports only the
packages it depends on, so that, say, the client installs alone."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("gateway", "jobstore", "runner", "worker")
# Each source root, and the source roots its package may import from (its dependencies).
PACKAGES: dict[str, tuple[str, ...]] = {
    "libs/client/src": (),
    "libs/runtime/src": ("libs/client/src",),
    "libs/platform/src": ("libs/client/src", "libs/runtime/src"),
    "libs/devstack/src": ("libs/client/src", "libs/runtime/src", "libs/platform/src"),
    "services/worker/src": ("libs/client/src", "libs/runtime/src"),
    "services/gateway/src": ("libs/client/src", "libs/runtime/src", "libs/platform/src"),
    "services/jobstore/src": ("libs/client/src", "libs/runtime/src", "libs/platform/src"),
    "services/runner/src": (
        "libs/client/src",
        "libs/runtime/src",
        "libs/platform/src",
        "services/worker/src",
    ),
}
GENERATED = ("simlab.v1", "simlab.jobstore", "simlab.health")


def modules() -> dict[str, Path]:
    """Every first-party module by its dotted name (generated stubs aside)."""
    found: dict[str, Path] = {}
    for root in PACKAGES:
        for path in sorted((ROOT / root).rglob("*.py")):
            parts = path.relative_to(ROOT / root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if not name.startswith(GENERATED):
                found[name] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> Iterator[str]:
    """The first-party modules `name` imports (a `from package import module` counts as the
    module when it is one)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            if target in MODULES:
                yield target
                break


GRAPH = {name: sorted(set(imports(name, path))) for name, path in MODULES.items()}


def root_of(name: str) -> str:
    return str(MODULES[name].relative_to(ROOT)).split("/src/")[0] + "/src"


def test_the_scan_sees_the_tree() -> None:
    assert {"simlab.client", "simlab.models.base", "simlab_gateway.app"} <= MODULES.keys()
    assert "simlab.transport.errors" in GRAPH["simlab.client"]


def test_no_import_cycle() -> None:
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        path.append(name)
        for target in GRAPH[name]:
            visit(target)
        path.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)


@pytest.mark.parametrize("root", sorted(PACKAGES))
def test_a_package_imports_only_what_it_depends_on(root: str) -> None:
    allowed = {root, *PACKAGES[root]}
    wrong = [
        f"{name} imports {target}"
        for name in MODULES
        if root_of(name) == root
        for target in GRAPH[name]
        if root_of(target) not in allowed
    ]
    assert not wrong


@pytest.mark.parametrize("service", SERVICES)
def test_core_imports_no_adapter_transport_or_wiring_and_reads_no_environment(
    service: str,
) -> None:
    package = f"simlab_{service}"
    core = [name for name in MODULES if name.startswith(f"{package}.core")]
    assert core, f"{package} has no core"
    wrong = [
        f"{name} imports {target}"
        for name in core
        for target in GRAPH[name]
        if target.startswith(package) and not target.startswith(f"{package}.core")
    ]
    wrong += [
        f"{name} reads the environment"
        for name in core
        if "os.environ" in MODULES[name].read_text() or "getenv" in MODULES[name].read_text()
    ]
    assert not wrong
