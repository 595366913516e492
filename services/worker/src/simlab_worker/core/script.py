"""What a script model's run needs besides its process: its progress reports (parsed and sent
at most every interval, the last one always), the files it left and the summary among them."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from simlab_worker.core.engine import json_safe
from simlab_worker.core.ports import ProgressReport

log = logging.getLogger("worker")

# The file of the output directory that holds the run's summary (a JSON object).
SUMMARY = "summary.json"


class ScriptProgress:
    """poll() for ScriptProcess.run: keeps the latest report, sends it to the job store at most
    every `interval_s`, and says when the script should stop (the job store or SIGTERM)."""

    def __init__(
        self,
        send: Callable[[ProgressReport], bool],
        interval_s: float,
        clock: Callable[[], float],
        stop_requested: Callable[[], bool],
    ) -> None:
        self._send = send
        self._interval_s = interval_s
        self._clock = clock
        self._stop_requested = stop_requested
        self._pending: ProgressReport | None = None
        self._sent_at = -math.inf
        self._stop = False
        self._warned = False
        self.sent = 0

    def poll(self, lines: Sequence[str]) -> bool:
        for line in lines:
            report = parse_report(line)
            if report is not None:
                self._pending = report
            elif line.strip() and not self._warned:
                self._warned = True
                log.warning("ignoring a malformed progress report", extra={"line": line[:200]})
        if self._pending is not None and self._clock() - self._sent_at >= self._interval_s:
            self.flush()
        return self._stop or self._stop_requested()

    def flush(self) -> None:
        """Sends the latest report if it has not been sent."""
        if self._pending is None:
            return
        report, self._pending = self._pending, None
        self._stop = self._send(report) or self._stop
        self._sent_at = self._clock()
        self.sent += 1


def parse_report(line: str) -> ProgressReport | None:
    """One line simlab.report() wrote; None when it is not one."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    done = _number(value.get("done"))
    if done is None:
        return None
    return ProgressReport(
        done=done,
        total=_number(value.get("total")),
        estimate=_number(value.get("estimate")),
        stderr=_number(value.get("stderr")),
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def output_files(directory: Path) -> dict[str, Path]:
    """Every regular file under `directory` by its relative "/" name (links are not
    followed: a script publishes what it wrote, not what it points at)."""
    found: dict[str, Path] = {}
    for folder, _, names in os.walk(directory):
        for name in names:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                found[path.relative_to(directory).as_posix()] = path
    return dict(sorted(found.items()))


def summary_of(files: dict[str, Path]) -> tuple[dict[str, Any], str]:
    """The run's summary from summary.json ({} without one) and, when the file is there but is
    not a JSON object, a line that says so."""
    path = files.get(SUMMARY)
    if path is None:
        return {}, ""
    try:
        value = json.loads(path.read_bytes())
    except ValueError as exc:
        return {}, f"{SUMMARY} is not valid JSON ({exc}); the job has no summary"
    if not isinstance(value, dict):
        kind = type(value).__name__
        return {}, f"{SUMMARY} holds a {kind}, not an object; the job has no summary"
    return json_safe(value), ""


def exit_message(code: int) -> str:
    if code < 0:
        return f"script was killed by signal {-code}"
    return f"script exited with code {code}"
