"""A study's results as CSV, one row per point: its index, every swept parameter, the estimate
of the primary output with its standard error and confidence interval, how the point's run
ended and its run's id."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Any

from simlab.core.precision import DEFAULT_CONFIDENCE
from simlab.transport.structs import whole_numbers
from simlab.v1 import simulation_pb2 as pb

RESULT_COLUMNS = (
    "estimate",
    "stderr",
    "ci_low",
    "ci_high",
    "state",
    "stop_reason",
    "samples",
    "job_id",
)


def header(study: pb.Study) -> list[str]:
    """A swept parameter named like another column is `parameters.<name>`."""
    taken = {"index", *RESULT_COLUMNS}
    swept = [f"parameters.{name}" if name in taken else name for name in study.swept]
    return ["index", *swept, *RESULT_COLUMNS]


def row(study: pb.Study, point: pb.StudyPoint) -> list[Any]:
    """Blank where the point has no such value yet (no block done, fewer than two samples)."""
    # Only the swept values, read from the Struct: converting each point's whole Struct
    # would take most of the time of 10,000 rows.
    given = point.parameters
    progress = point.progress
    estimate = progress.estimate if progress.HasField("estimate") else None
    stderr = progress.stderr if progress.HasField("stderr") else None
    half_width = _half_width(study, point, stderr)
    low, high = (
        (estimate - half_width, estimate + half_width)
        if estimate is not None and half_width is not None
        else (None, None)
    )
    stopped = point.HasField("stop")
    reason = point.stop.reason if stopped else pb.STOP_REASON_UNSPECIFIED
    return [
        point.index,
        *(whole_numbers(given[name]) if name in given else None for name in study.swept),
        estimate,
        stderr,
        low,
        high,
        pb.JobState.Name(point.state).removeprefix("JOB_STATE_").lower(),
        "" if reason == pb.STOP_REASON_UNSPECIFIED else _reason_name(reason),
        point.stop.samples_used if stopped and point.stop.samples_used else progress.samples_done,
        point.job_id,
    ]


def encode(rows: Iterable[Sequence[Any]]) -> bytes:
    """The rows as CSV lines (None: an empty cell)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerows(rows)
    return text.getvalue().encode()


def _half_width(study: pb.Study, point: pb.StudyPoint, stderr: float | None) -> float | None:
    """The interval's half-width at the precision target's confidence (95 % without one): the
    one the job store decided where the point stopped at its target, else z * stderr."""
    if point.HasField("stop") and point.stop.HasField("half_width"):
        return point.stop.half_width
    if stderr is None or not math.isfinite(stderr):
        return None
    confidence = study.spec.precision.confidence or DEFAULT_CONFIDENCE
    return NormalDist().inv_cdf((1 + confidence) / 2) * stderr


def _reason_name(reason: pb.StopReason) -> str:
    return pb.StopReason.Name(reason).removeprefix("STOP_REASON_").lower()
