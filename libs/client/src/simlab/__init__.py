"""Simlab. In your own model code: `simlab.Param` (bounds, unit and help of a parameter),
`simlab.params()` (a script's parameters) and `simlab.report(...)` (a script's progress). In a
study's sweep: `simlab.range(start, stop, count)` and `simlab.logrange(...)`.

`simlab` is shared by Simlab's distributions (client, runtime, platform, ...): extend_path
adds their simlab/ directories, so that simlab.models etc. import beside this one. The user
API loads on first use, so that `import simlab.client` stays cheap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__path__ = __import__("pkgutil").extend_path(__path__, __name__)

if TYPE_CHECKING:
    from simlab.studyspec import Range as range  # noqa: F401 (for type checkers only)
    from simlab.studyspec import logrange
    from simlab.user import Param, params, report

# `range` is left out of __all__: `from simlab import *` must not hide the builtin.
__all__ = ["Param", "logrange", "params", "report"]
# Each name's module and its name there.
_LAZY = {
    "Param": ("user", "Param"),
    "params": ("user", "params"),
    "report": ("user", "report"),
    "range": ("studyspec", "Range"),
    "logrange": ("studyspec", "logrange"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(f"simlab.{module}"), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
