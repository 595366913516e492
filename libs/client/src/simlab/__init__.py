"""Simlab. In your own model code: `simlab.Param` (bounds, unit and help of a parameter),
`simlab.params()` (a script's parameters) and `simlab.report(...)` (a script's progress).

`simlab` is shared by Simlab's distributions (client, runtime, platform, ...): extend_path
adds their simlab/ directories, so that simlab.models etc. import beside this one. The user
API loads on first use, so that `import simlab.client` stays cheap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__path__ = __import__("pkgutil").extend_path(__path__, __name__)

if TYPE_CHECKING:
    from simlab.user import Param, params, report

__all__ = ["Param", "params", "report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from simlab import user

        return getattr(user, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
