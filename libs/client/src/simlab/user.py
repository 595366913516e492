"""What model code uses from Simlab, on the platform and off it alike.

    from typing import Annotated
    import simlab

    def simulate(rng, n, *, sigma: Annotated[float, simlab.Param(gt=0, unit="1/yr")] = 0.2):
        ...

A script model reads its parameters with `simlab.params()` and tells its progress with
`simlab.report(done=..., total=...)`; run bare (no platform), params() is {} and report()
does nothing."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

PARAMS_VARIABLE = "SIMLAB_PARAMS"
REPORT_FILE_VARIABLE = "SIMLAB_REPORT_FILE"


@dataclass(frozen=True)
class Param:
    """A parameter's bounds and description: `Annotated[float, simlab.Param(gt=0, le=5)]`.
    gt/lt are exclusive bounds, ge/le inclusive ones."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    unit: str = ""
    help: str = ""
    label: str = ""


def params() -> dict[str, Any]:
    """The run's parameters ({} outside the platform, so that a script also runs bare)."""
    raw = os.environ.get(PARAMS_VARIABLE)
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"{PARAMS_VARIABLE} must hold a JSON object, got {raw[:80]!r}")
    return value


_warned = False


def report(
    *,
    done: float,
    total: float | None = None,
    estimate: float | None = None,
    stderr: float | None = None,
) -> None:
    """Tells the platform how far the script is (samples done of total) and, if it has one,
    its running estimate and standard error. Does nothing outside the platform; a report
    that cannot be written warns once on stderr and never stops the script."""
    global _warned
    path = os.environ.get(REPORT_FILE_VARIABLE)
    if not path:
        return
    numbers = {"done": done, "total": total, "estimate": estimate, "stderr": stderr}
    # float(): NumPy scalars too (json cannot write an int64).
    line = json.dumps({k: None if v is None else float(v) for k, v in numbers.items()})
    try:
        with open(path, "a", encoding="utf-8") as file:
            file.write(line + "\n")
            file.flush()
    except (OSError, ValueError) as error:
        if not _warned:
            _warned = True
            print(f"simlab.report: cannot write progress to {path}: {error}", file=sys.stderr)
