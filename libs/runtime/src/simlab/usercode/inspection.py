"""Registration's look at a bundle: load it, read its schema, check that blocks come out the
same twice for the same seed, and record what it imports. Its result is the Model proto the
job store registers (the worker adds the runtime)."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlab.bundle import Bundle
from simlab.core.blocks import block_rng
from simlab.core.stats import Stats, merge_in_order
from simlab.models.base import Model
from simlab.transport.models import schema_to_proto
from simlab.usercode import source
from simlab.usercode.errors import UserCodeError, at
from simlab.usercode.loader import RUNTIME_LACKS, Loaded, call_user, load_bundle
from simlab.usercode.schema import example_params
from simlab.v1 import simulation_pb2 as pb

# The determinism check: these blocks, of at most this many samples, run twice.
CHECKED_BLOCKS = (0, 1)
CHECK_SAMPLES = 1_000
CHECK_SEED = 0


@dataclass(frozen=True)
class Inspection:
    # title, description, parameters, outputs, primary_output, kind, block_size, imports,
    # warnings, reproducible, reference_output; and name, entry, files, code_sha256, code_size
    # from the bundle. runtime is left empty: the worker adds it.
    model: pb.Model


def inspect(bundle: Bundle, directory: Path, name: str) -> Inspection:
    """Loads the bundle (see load) and checks it; UserCodeError says what is wrong."""
    loaded = load_bundle(bundle, directory, name)
    imports = [
        i
        for path, tree in loaded.trees.items()
        for i in source.imports(path, tree)
        if i.module not in loaded.bundled
    ]
    message = pb.Model(
        name=name,
        entry=bundle.entry,
        files=sorted(bundle.files),
        code_sha256=bundle.sha256,
        code_size=bundle.size,
        imports=sorted({i.module for i in imports}),
    )
    model = loaded.code.model
    if model is None:
        _check_script_imports(imports)
        docstring = source.docstring(loaded.trees[bundle.entry])
        message.kind = pb.MODEL_KIND_SCRIPT
        message.title = source.title(docstring, name)
        message.description = docstring
        message.reproducible = False  # unknown: a script's randomness is its own business
        return Inspection(message)

    message.MergeFrom(schema_to_proto(model))
    message.kind = pb.MODEL_KIND_BLOCKS
    params = example_params(model.parameters)
    # The function form's rule is min(samples, BLOCK_SIZE); a MODEL's, its rule at the defaults.
    message.block_size = loaded.block_size or call_user(
        functools.partial(model.block_size, params),
        loaded.code.directory,
        loaded.file,
        loaded.line,
        "block_size failed at the default parameters",
    )
    # Parameters without a default take made-up valid values (see example_params): if the
    # code cannot run at those, the check is skipped with a warning rather than refusing it.
    required = [p.name for p in model.parameters if p.default is None]
    try:
        warning = _determinism(loaded, model, params)
    except UserCodeError as exc:
        if not required:
            raise
        warning = (
            f"not checked for determinism: it failed at made-up values for "
            f"{', '.join(required)} (no default): {exc}"
        )
    message.reproducible = warning is None
    if warning:
        message.warnings.append(warning)
    return Inspection(message)


def _check_script_imports(imports: Iterable[source.Import]) -> None:
    for i in imports:
        if i.optional:
            continue
        try:
            found = importlib.util.find_spec(i.module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise UserCodeError(
                f"{at(i.file, i.line)}: imports {i.module!r}, which the runtime does not have. "
                + RUNTIME_LACKS,
                line=i.line,
            )


def _run_checked_blocks(loaded: Loaded, model: Model, params: dict[str, Any]) -> list[Stats]:
    """The checked blocks once, at `params`, with their summary and data (any failure or wrong
    shape is a UserCodeError at the user's line)."""
    n = min(model.block_size(params), CHECK_SAMPLES)
    blocks = []
    for block in CHECKED_BLOCKS:
        stats = call_user(
            functools.partial(model.simulate, params, block_rng(CHECK_SEED, block), n),
            loaded.code.directory,
            loaded.file,
            loaded.line,
            f"simulate failed on block {block} at the default parameters",
        )
        if not isinstance(stats, Stats) or model.primary_output not in stats.moments:
            raise UserCodeError(
                f"{at(loaded.file, loaded.line)}: simulate must return Stats with "
                f"moments[{model.primary_output!r}] (got {type(stats).__name__})",
                line=loaded.line,
            )
        blocks.append(stats)
    merged = merge_in_order(blocks)
    call_user(
        lambda: (model.summarize(params, merged), model.data(params, merged)),
        loaded.code.directory,
        loaded.file,
        loaded.line,
        "summarize or data failed at the default parameters",
    )
    return blocks


def _determinism(loaded: Loaded, model: Model, params: dict[str, Any]) -> str | None:
    first = _run_checked_blocks(loaded, model, params)
    second = _run_checked_blocks(loaded, model, params)
    for block, (a, b) in zip(CHECKED_BLOCKS, zip(first, second, strict=True), strict=True):
        # repr round-trips floats exactly (and NaN equals NaN), so this compares bit for bit.
        if repr(a) != repr(b):
            return (
                f"not deterministic: block {block} gave different results for the same seed; "
                "draw every random number from the rng argument (not np.random.* or random.*)"
            )
    return None
