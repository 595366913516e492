"""A function-form model's parameter schema, read from the keyword-only parameters of
`simulate(rng, n, *, ...)`: type from the annotation, default from the default, bounds and
help from `Annotated[..., simlab.Param(...)]` or annotated_types' Gt/Ge/Lt/Le."""

from __future__ import annotations

import inspect as pyinspect
import math
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simlab.models.base import Param, ParamType
from simlab.usercode.errors import UserCodeError, at

# The sample count the platform adds; a user's parameter may not take its name.
SAMPLES = "samples"
_PLAIN_TYPES: dict[Any, ParamType] = {bool: "bool", int: "int", float: "float"}
# Metadata carrying bounds, by class name: simlab.Param and annotated_types' classes. Matched
# by name and attributes, so neither package is needed to read them.
_BOUND_CLASSES = {"Param", "Gt", "Ge", "Lt", "Le", "Interval"}
_BOUNDS = ("gt", "ge", "lt", "le")
_KIND_TEXT = {"bool": "True or False", "int": "an integer", "float": "a number"}


@dataclass(frozen=True)
class Signature:
    positional: tuple[str, str]  # the names of (rng, n)
    parameters: tuple[Param, ...]  # keyword-only, in order; the sample count not included


def read_signature(
    function: Callable[..., Any], file: str, lines: Mapping[str, int], def_line: int
) -> Signature:
    def fail(name: str | None, problem: str) -> UserCodeError:
        line = lines.get(name, def_line) if name else def_line
        subject = f"parameter {name!r}: " if name else ""
        return UserCodeError(f"{at(file, line)}: {subject}{problem}", line=line)

    try:
        signature = pyinspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise fail(None, f"simulate has no readable signature ({exc})") from None
    positional: list[str] = []
    parameters: list[Param] = []
    for p in signature.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            raise fail(p.name, "*args is not allowed; declare each parameter after `*`")
        if p.kind is p.VAR_KEYWORD:
            raise fail(p.name, "**kwargs is not allowed; declare each parameter after `*`")
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if len(positional) == 2:
                raise fail(
                    p.name,
                    "simulate takes only (rng, n) positionally; "
                    "make it keyword-only (after `*`) to turn it into a model parameter",
                )
            positional.append(p.name)
            continue
        if p.name == SAMPLES:
            raise fail(
                p.name,
                "the name is reserved for the sample count the platform adds "
                "(set SAMPLES = ... in the module for its default)",
            )
        parameters.append(_param(p, function, fail))
    if len(positional) != 2:
        raise fail(None, "simulate must take (rng, n) positionally, then `*` and its parameters")
    return Signature((positional[0], positional[1]), tuple(parameters))


def _param(
    p: pyinspect.Parameter,
    function: Callable[..., Any],
    fail: Callable[[str | None, str], UserCodeError],
) -> Param:
    name = p.name
    annotation = p.annotation
    if isinstance(annotation, str):  # `from __future__ import annotations`
        try:
            annotation = eval(annotation, getattr(function, "__globals__", {}))
        except Exception as exc:
            raise fail(name, f"annotation {p.annotation} cannot be evaluated ({exc})") from None
    metadata: tuple[Any, ...] = ()
    if typing.get_origin(annotation) is typing.Annotated:
        metadata = annotation.__metadata__
        annotation = annotation.__origin__
    default = None if p.default is p.empty else p.default

    choices: tuple[str, ...] = ()
    kind: ParamType
    if annotation is p.empty:
        inferred = _PLAIN_TYPES.get(type(default))
        if inferred is None:
            raise fail(name, "needs an annotation: float, int, bool or Literal[...]")
        kind = inferred
    elif annotation in _PLAIN_TYPES:
        kind = _PLAIN_TYPES[annotation]
    elif typing.get_origin(annotation) is typing.Literal:
        choices = typing.get_args(annotation)
        if not all(isinstance(c, str) for c in choices):
            raise fail(name, f"Literal choices must be strings (got {_describe(annotation)})")
        kind = "choice"
    else:
        raise fail(name, f"annotation {_describe(annotation)} is not float, int, bool or Literal")

    bounds, texts = _metadata(metadata, name, fail)
    if bounds and kind not in ("float", "int"):
        raise fail(name, f"bounds ({', '.join(bounds)}) apply only to float and int parameters")
    return Param(
        name=name,
        label=texts.get("label") or name.replace("_", " ")[:1].upper() + name.replace("_", " ")[1:],
        type=kind,
        default=_default(kind, default, choices, name, fail),
        minimum=bounds.get("gt", bounds.get("ge")),
        maximum=bounds.get("lt", bounds.get("le")),
        exclusive_minimum="gt" in bounds,
        exclusive_maximum="lt" in bounds,
        unit=texts.get("unit", ""),
        help=texts.get("help", ""),
        choices=choices,
    )


def _metadata(
    metadata: tuple[Any, ...], name: str, fail: Callable[[str | None, str], UserCodeError]
) -> tuple[dict[str, float], dict[str, str]]:
    bounds: dict[str, float] = {}
    texts: dict[str, str] = {}
    for item in metadata:
        if type(item).__name__ not in _BOUND_CLASSES:
            continue  # other metadata (a doc string, a unit object, ...) is the user's own
        for key in _BOUNDS:
            value = getattr(item, key, None)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(name, f"bound {key} must be a number (got {value!r})")
            if not math.isfinite(value):
                raise fail(name, f"bound {key} must be finite (got {value!r})")
            bounds[key] = float(value)
        for key in ("unit", "help", "label"):
            text = getattr(item, key, None)
            if isinstance(text, str) and text:
                texts[key] = text
    for lower, upper in (("gt", "ge"), ("lt", "le")):
        if lower in bounds and upper in bounds:
            raise fail(name, f"give either {lower} or {upper}, not both")
    low = bounds.get("gt", bounds.get("ge"))
    high = bounds.get("lt", bounds.get("le"))
    if (
        low is not None
        and high is not None
        and low >= high
        and not (low == high and "ge" in bounds and "le" in bounds)
    ):
        raise fail(name, "its bounds leave no value")
    return bounds, texts


def _default(
    kind: ParamType,
    default: Any,
    choices: tuple[str, ...],
    name: str,
    fail: Callable[[str | None, str], UserCodeError],
) -> Any:
    """The default as the schema holds it (None: required). Bounds are checked later, by the
    platform's own validation of the whole schema."""
    if default is None:
        return None
    if kind == "bool":
        ok = isinstance(default, bool)
    elif kind == "choice":
        ok = default in choices
    elif kind == "int":
        ok = not isinstance(default, bool) and (
            isinstance(default, int) or (isinstance(default, float) and default.is_integer())
        )
        default = int(default) if ok else default
    else:
        ok = not isinstance(default, bool) and isinstance(default, int | float)
        default = float(default) if ok else default
    if not ok:
        expected = f"one of {', '.join(choices)}" if kind == "choice" else _KIND_TEXT[kind]
        raise fail(name, f"default {default!r} is not {expected}")
    return default


def _describe(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "")


def example_params(parameters: Sequence[Param]) -> dict[str, Any]:
    """Every parameter at its default; a required one at some valid value (for the output
    probe, and the block rule, of a model whose parameters are not all defaulted)."""
    return {p.name: p.default if p.default is not None else _example(p) for p in parameters}


def _example(p: Param) -> Any:
    if p.type == "bool":
        return False
    if p.type == "choice":
        return p.choices[0] if p.choices else ""
    lo, hi = p.minimum, p.maximum
    value = (lo + hi) / 2 if lo is not None and hi is not None else 1.0
    if lo is not None and hi is None:
        value = max(value, lo + 1)
    if hi is not None and lo is None:
        value = min(value, hi - 1)
    if p.type == "int":
        whole = math.floor(value)
        return (
            whole + 1
            if lo is not None and (whole < lo or (whole == lo and p.exclusive_minimum))
            else whole
        )
    return value
