"""The one table `make bench` ends with: each path, its number, the ceiling measured in the same
run, the ratio and the target; the same rows go to a JSON file for tools and for the notes."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Row:
    """One measured path. `ceiling` is what the same work costs with the part under test taken
    away (the framework alone, bare NumPy, one shard), measured in the same run; `met` is None
    where the path has no target."""

    path: str
    value: float
    unit: str
    ceiling: float | None = None
    ceiling_of: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.ceiling if self.ceiling else None


def _number(value: float) -> str:
    if value != value:  # NaN: the path could not be measured in this run
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def print_table(rows: list[Row], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("path", "left"),
        ("measured", "right"),
        ("ceiling, same run", "right"),
        ("ratio", "right"),
        ("target", "left"),
        ("met", "center"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        ceiling = f"{_number(row.ceiling)} ({row.ceiling_of})" if row.ceiling is not None else ""
        ratio = "" if row.ratio is None else _number(row.ratio * 100) + " %"
        met = {True: "yes", False: "NO", None: ""}[row.met]
        table.add_row(row.path, f"{_number(row.value)} {row.unit}", ceiling, ratio, row.target, met)
    Console(width=160).print(table)


def write_json(rows: list[Row], path: Path, *, quick: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "rows": [asdict(row) | {"ratio": row.ratio} for row in rows],
    }
    # NaN is not JSON: a path that could not be measured is null.
    text = json.dumps(document, indent=2).replace("NaN", "null")
    path.write_text(text + "\n")
