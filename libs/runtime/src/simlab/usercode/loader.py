"""Loading a bundle in the worker: extract it into a private directory, decide its kind from
its source, import it (blocks) or only compile it (scripts), and build the Model."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib.util
import itertools
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np

from simlab.bundle import Bundle, extract
from simlab.common.errors import SimlabError
from simlab.core.params import validate
from simlab.models import registry
from simlab.models.base import Model
from simlab.usercode import function_form, source
from simlab.usercode.errors import (
    UserCodeError,
    at,
    format_traceback,
    relative_to,
    user_frame,
)
from simlab.usercode.schema import Signature, example_params, read_signature

# Names whose presence at the top level of the entry makes it a blocks model.
MODEL_NAME = "MODEL"
FUNCTION_NAME = "simulate"
# Samples of the call that finds out what simulate returns (its output names).
PROBE_SAMPLES = 16
PROBE_SPAWN_KEY = 2**63 + 1
_module_numbers = itertools.count(1)
_loaded_directories: list[str] = []
RUNTIME_LACKS = (
    "No package is installed at run time: use what the runtime has, bundle the module with "
    'your code, or ask the platform team to add it to the worker image (README "Extending '
    'the runtime").'
)


@dataclass(frozen=True)
class LoadedCode:
    kind: Literal["blocks", "script"]
    model: Model | None  # the Model for blocks; None for scripts
    directory: Path  # where the bundle was extracted
    entry: Path


@dataclass(frozen=True)
class Loaded:
    """LoadedCode plus what inspection reads: the parsed sources and where simulate is."""

    code: LoadedCode
    trees: dict[str, ast.Module]  # every bundled .py by path
    bundled: frozenset[str]  # top-level module names the bundle provides
    # Where a blocks model's simulate (or MODEL) is defined, for messages: file and line.
    file: str = ""
    line: int | None = None
    block_size: int = 0  # the function form's BLOCK_SIZE


def load(bundle: Bundle, directory: Path, name: str) -> LoadedCode:
    """Extracts `bundle` into `directory` (a private temp dir the caller owns), puts it first
    on sys.path and imports the entry under a unique module name: MODEL -> that Model (renamed
    to `name`); `simulate` -> a function-form Model; neither -> a script, compiled (never run)."""
    return load_bundle(bundle, directory, name).code


def load_bundle(bundle: Bundle, directory: Path, name: str) -> Loaded:
    entry = extract(bundle, directory)
    trees = {
        path: source.parse(path, data)
        for path, data in sorted(bundle.files.items())
        if path.endswith(".py")
    }
    bundled = frozenset(source.bundled_modules(bundle.files))
    tree = trees[bundle.entry]
    names = source.top_level_names(tree)
    if MODEL_NAME not in names and FUNCTION_NAME not in names:
        _compile(bundle.entry, bundle.files[bundle.entry])
        return Loaded(LoadedCode("script", None, directory, entry), trees, bundled)

    module = _import(entry, directory, bundle.entry, bundled)
    if MODEL_NAME in vars(module):
        return _model_form(module, name, directory, entry, trees, bundled, bundle.entry)
    function = getattr(module, FUNCTION_NAME, None)
    if not callable(function):
        line = source.assignment_line(tree, FUNCTION_NAME)
        raise UserCodeError(
            f"{at(bundle.entry, line)}: {FUNCTION_NAME} is not a function "
            f"(got {type(function).__name__})",
            line=line,
        )
    return _function_form(module, function, name, directory, entry, trees, bundled, bundle.entry)


def _compile(file: str, text: bytes) -> None:
    try:
        compile(text, file, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise source.syntax_error(file, exc) from None


def _import(entry: Path, directory: Path, entry_file: str, bundled: frozenset[str]) -> ModuleType:
    _forget_earlier_bundles()
    _shadow_imported(bundled)
    _loaded_directories.append(str(directory))
    sys.path.insert(0, str(directory))
    stem = re.sub(r"\W", "_", entry.stem)
    module_name = f"simlab_user_{next(_module_numbers)}_{stem}"
    spec = importlib.util.spec_from_file_location(module_name, entry)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        file = relative_to(Path(exc.filename or ""), directory) or entry_file
        raise source.syntax_error(file, exc) from None
    except ModuleNotFoundError as exc:
        raise _missing_module(exc, directory, entry_file, bundled) from None
    except (Exception, SystemExit) as exc:
        file, line = user_frame(exc, directory)
        raise UserCodeError(
            f"{at(file or entry_file, line)}: importing {entry_file} failed: "
            f"{type(exc).__name__}: {exc}",
            line=line,
            traceback=format_traceback(exc),
        ) from None
    return module


def _forget_earlier_bundles() -> None:
    """One bundle at a time per process (a worker runs one job): loading another takes the
    earlier ones' directories off sys.path and their modules out of sys.modules, so that none
    of them stands in for a module of the new bundle."""
    for directory in _loaded_directories:
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)
        prefix = directory + os.sep
        for name, module in list(sys.modules.items()):
            if (getattr(module, "__file__", None) or "").startswith(prefix):
                del sys.modules[name]
    _loaded_directories.clear()


def _shadow_imported(bundled: frozenset[str]) -> None:
    """The bundle's own modules win: a module of the same name imported before (a `tools` or
    `utils` of the process's own) must not stand in for the bundle's."""
    for name in list(sys.modules):
        if name.split(".")[0] in bundled:
            del sys.modules[name]


def _missing_module(
    exc: ModuleNotFoundError, directory: Path, entry_file: str, bundled: frozenset[str]
) -> UserCodeError:
    file, line = user_frame(exc, directory)
    missing = exc.name or str(exc)
    if missing.split(".")[0] in bundled:
        problem = f"imports {missing!r}, which is not in the bundle (ModuleNotFoundError)"
    else:
        problem = (
            f"imports {missing!r}, which the runtime does not have (ModuleNotFoundError). "
            + RUNTIME_LACKS
        )
    return UserCodeError(
        f"{at(file or entry_file, line)}: {problem}", line=line, traceback=format_traceback(exc)
    )


def _model_form(
    module: ModuleType,
    name: str,
    directory: Path,
    entry: Path,
    trees: dict[str, ast.Module],
    bundled: frozenset[str],
    entry_file: str,
) -> Loaded:
    line = source.assignment_line(trees[entry_file], MODEL_NAME)
    model = module.MODEL
    if not isinstance(model, Model):
        raise UserCodeError(
            f"{at(entry_file, line)}: MODEL must be a simlab.models.base.Model "
            f"(got {type(model).__name__})",
            line=line,
        )
    model = dataclasses.replace(model, name=name)
    try:
        registry.check(model)
    except ValueError as exc:
        raise UserCodeError(f"{at(entry_file, line)}: MODEL: {exc}", line=line) from None
    code = LoadedCode("blocks", model, directory, entry)
    return Loaded(code, trees, bundled, entry_file, line)


def _function_form(
    module: ModuleType,
    function: Callable[..., Any],
    name: str,
    directory: Path,
    entry: Path,
    trees: dict[str, ast.Module],
    bundled: frozenset[str],
    entry_file: str,
) -> Loaded:
    code_object = getattr(function, "__code__", None)
    file = relative_to(Path(code_object.co_filename), directory) if code_object else ""
    def_line = code_object.co_firstlineno if code_object and file else None
    tree = trees.get(file)
    lines = source.argument_lines(tree, function.__name__, def_line) if tree and def_line else {}
    file = file or entry_file
    signature = read_signature(function, file, lines, def_line or 0)

    entry_tree = trees[entry_file]
    samples = _constant(module, entry_tree, entry_file, "SAMPLES", function_form.DEFAULT_SAMPLES)
    block_size = _constant(
        module, entry_tree, entry_file, "BLOCK_SIZE", function_form.DEFAULT_BLOCK_SIZE
    )
    docstring = source.docstring(entry_tree)
    title = source.title(docstring, name)

    def build(outputs: list[str]) -> Model:
        return function_form.build(
            name, title, docstring, function, signature, outputs, samples, block_size
        )

    # The defaults must pass the platform's own validation (bounds, choices).
    provisional = build([function_form.SINGLE_OUTPUT])
    params = example_params(provisional.parameters)
    try:
        validate(provisional, params)
    except SimlabError as exc:
        bad = (exc.field or "").removeprefix("parameters.")
        bad_line = lines.get(bad, def_line)
        raise UserCodeError(
            f"{at(file, bad_line)}: parameter {bad!r}: default {exc.description}", line=bad_line
        ) from None
    outputs = _probe(function, signature, params, file, def_line, directory)
    model = build(outputs)
    return Loaded(
        LoadedCode("blocks", model, directory, entry),
        trees,
        bundled,
        file,
        def_line,
        block_size,
    )


def _constant(module: ModuleType, tree: ast.Module, file: str, name: str, default: int) -> int:
    value = getattr(module, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        line = source.assignment_line(tree, name)
        raise UserCodeError(
            f"{at(file, line)}: {name} must be a positive integer (got {value!r})", line=line
        )
    return value


def _probe(
    function: Callable[..., Any],
    signature: Signature,
    params: dict[str, Any],
    file: str,
    line: int | None,
    directory: Path,
) -> list[str]:
    """The names of simulate's outputs, from one small call at the defaults."""
    rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(0, spawn_key=(PROBE_SPAWN_KEY,)))
    )
    arguments = function_form.call_arguments(signature.parameters, params)
    made_up = [f"{p.name}={params[p.name]!r}" for p in signature.parameters if p.default is None]
    at_values = f" ({', '.join(made_up)}: made up, no default)" if made_up else ""
    result = call_user(
        lambda: function(rng, PROBE_SAMPLES, **arguments),
        directory,
        file,
        line,
        f"simulate failed when called with n={PROBE_SAMPLES} at the default parameters" + at_values,
    )
    try:
        names = list(function_form.outputs_of(result, PROBE_SAMPLES))
        function_form.check_output_names(names)
    except function_form.ShapeError as exc:
        raise UserCodeError(f"{at(file, line)}: {exc}", line=line) from None
    return names


def call_user(
    call: Callable[[], Any], directory: Path, file: str, line: int | None, what: str
) -> Any:
    """Runs user code; its exception becomes a UserCodeError at the user's line (a wrong
    shape at `line`, simulate's own)."""
    try:
        return call()
    except function_form.ShapeError as exc:
        raise UserCodeError(f"{at(file, line)}: {exc}", line=line) from None
    except (Exception, SystemExit) as exc:
        frame_file, frame_line = user_frame(exc, directory)
        raise UserCodeError(
            f"{at(frame_file or file, frame_line)}: {what}: {type(exc).__name__}: {exc}",
            line=frame_line,
            traceback=format_traceback(exc),
        ) from None
