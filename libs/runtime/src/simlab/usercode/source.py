"""What can be read from user code without running it: syntax, top-level names, imports,
docstrings and the lines things are defined on."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from simlab.usercode.errors import UserCodeError

# Handlers that make an import optional (`try: import x` / `except ImportError: ...`).
_IMPORT_GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


@dataclass(frozen=True)
class Import:
    module: str  # the top-level module name
    file: str
    line: int
    optional: bool  # inside a try whose handlers catch ImportError


def parse(file: str, text: bytes) -> ast.Module:
    try:
        return ast.parse(text, filename=file)
    except SyntaxError as exc:
        raise syntax_error(file, exc) from None
    except ValueError as exc:  # e.g. null bytes
        raise UserCodeError(f"{file}: not Python source ({exc})") from None


def syntax_error(file: str, exc: SyntaxError) -> UserCodeError:
    return UserCodeError(
        f"{file}:{exc.lineno}: syntax error: {exc.msg}", line=exc.lineno, traceback=str(exc)
    )


def top_level_names(tree: ast.Module) -> set[str]:
    """Names the module binds at its top level (defs, classes, assignments, imports)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def assignment_line(tree: ast.Module, name: str) -> int | None:
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.lineno
    return None


def docstring(tree: ast.Module) -> str:
    return (ast.get_docstring(tree) or "").strip()


def title(docstring: str, fallback: str) -> str:
    """A model's title: its docstring's first line."""
    return docstring.splitlines()[0].strip() if docstring else fallback


def imports(file: str, tree: ast.Module) -> Iterator[Import]:
    """Absolute imports anywhere in the module (relative ones are the bundle's own)."""
    yield from _imports(file, tree.body, optional=False)


def _imports(file: str, body: Iterable[ast.stmt], optional: bool) -> Iterator[Import]:
    for node in body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name.split(".")[0], file, node.lineno, optional)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module != "__future__":
                yield Import(node.module.split(".")[0], file, node.lineno, optional)
        elif isinstance(node, ast.Try | ast.TryStar):
            guarded = optional or any(_guards_imports(h.type) for h in node.handlers)
            yield from _imports(file, node.body, guarded)
            for handler in node.handlers:
                yield from _imports(file, handler.body, optional)
            yield from _imports(file, [*node.orelse, *node.finalbody], optional)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    yield from _imports(file, _statements(children), optional)


def _statements(children: list[ast.AST]) -> Iterator[ast.stmt]:
    for child in children:
        if isinstance(child, ast.stmt):
            yield child
        elif isinstance(child, ast.ExceptHandler | ast.match_case):
            yield from child.body


def _guards_imports(handler: ast.expr | None) -> bool:
    if handler is None:  # a bare except
        return True
    names = handler.elts if isinstance(handler, ast.Tuple) else [handler]
    return any(isinstance(n, ast.Name) and n.id in _IMPORT_GUARDS for n in names)


def bundled_modules(paths: Iterable[str]) -> set[str]:
    """Top-level module names the bundle itself provides ("a.py" -> a, "pkg/x.py" -> pkg)."""
    names = set()
    for path in paths:
        if path.endswith(".py"):
            first = path.split("/")[0]
            names.add(first.removesuffix(".py"))
    return names


def argument_lines(tree: ast.Module, name: str, first_line: int) -> dict[str, int]:
    """Line of each parameter of the function `name` whose code starts at `first_line`
    (the first decorator's line for a decorated function)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if start == first_line:
                args = node.args
                every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
                every += [a for a in (args.vararg, args.kwarg) if a is not None]
                return {a.arg: a.lineno for a in every}
    return {}
