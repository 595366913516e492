"""Rows of results: a study's points (one row each: its swept parameters, estimate, interval,
state) and a user's runs, as plain dicts, CSV or Parquet files and pandas DataFrames. pandas
(and pyarrow for Parquet) are optional: only the frames and Parquet need them."""

from __future__ import annotations

import csv
import importlib.util
import math
from collections.abc import Iterable, Sequence
from datetime import UTC
from pathlib import Path
from statistics import NormalDist
from typing import Any

from simlab.states import state_name, stop_reason
from simlab.transport.structs import struct_to_dict, whole_numbers
from simlab.v1 import simulation_pb2 as pb

# What 0 means in a Precision's confidence (the server's default, simlab.core.precision), and
# the level of the interval of a point without a precision target.
DEFAULT_CONFIDENCE = 0.95
# A study's columns after its swept parameters.
POINT_COLUMNS = ("estimate", "stderr", "ci_low", "ci_high", "state", "stop_reason", "samples",
                 "job_id")  # fmt: skip
RUN_COLUMNS = ("job_id", "model", "state", "created")
FORMATS = (".csv", ".parquet")
EXTRA = "pip install 'simlab-client[pandas]'"


def study_confidence(study: pb.Study) -> float:
    """The level of the points' intervals: the precision target's, else 95 %."""
    if study.spec.HasField("precision") and study.spec.precision.confidence:
        return study.spec.precision.confidence
    return DEFAULT_CONFIDENCE


def swept_columns(study: pb.Study) -> dict[str, str]:
    """Each swept parameter's column: its name, or `parameters.<name>` when another column
    has that name (as in the gateway's study.csv)."""
    taken = {"index", *POINT_COLUMNS}
    return {name: f"parameters.{name}" if name in taken else name for name in study.swept}


def study_columns(study: pb.Study) -> list[str]:
    return ["index", *swept_columns(study).values(), *POINT_COLUMNS]


def point_samples(point: pb.StudyPoint) -> int:
    """The samples a point's result is made of: where it stopped, else what it drew."""
    if point.HasField("stop") and point.stop.samples_used:
        return point.stop.samples_used
    return point.progress.samples_done


def study_rows(study: pb.Study, points: Iterable[pb.StudyPoint]) -> list[dict[str, Any]]:
    """One row per point (study_columns), the same as the gateway's study.csv: the interval
    is estimate ± the half-width the job store found where the point stopped at its target,
    else ± z·stderr at the study_confidence (normal z); the state and stop reason in lower
    case; numbers a point does not have yet are None."""
    z = NormalDist().inv_cdf(0.5 + study_confidence(study) / 2)
    columns = swept_columns(study)
    rows = []
    for point in points:
        # Only the swept values, read straight from the Struct: converting every point's
        # whole Struct took most of the time of 10,000 rows.
        given = point.parameters
        progress = point.progress
        estimate = progress.estimate if progress.HasField("estimate") else None
        stderr = progress.stderr if progress.HasField("stderr") else None
        half_width = None
        if point.HasField("stop") and point.stop.HasField("half_width"):
            half_width = point.stop.half_width
        elif stderr is not None and math.isfinite(stderr):
            half_width = z * stderr
        low = high = None
        if estimate is not None and half_width is not None:
            low, high = estimate - half_width, estimate + half_width
        rows.append(
            {
                "index": point.index,
                **{
                    column: whole_numbers(given[name]) if name in given else None
                    for name, column in columns.items()
                },
                "estimate": estimate,
                "stderr": stderr,
                "ci_low": low,
                "ci_high": high,
                "state": state_name(point.state).lower(),
                "stop_reason": stop_reason(point.stop) if point.HasField("stop") else None,
                "samples": point_samples(point),
                "job_id": point.job_id,
            }
        )
    return rows


def run_rows(jobs: Iterable[pb.Job]) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per run and the columns: job_id, model, state, created, then every parameter,
    estimate and stderr (the primary output's), then every number or text of the summary,
    each group sorted by name. A parameter or summary entry whose name another column has is
    prefixed (`parameters.`, `summary.`)."""
    jobs = list(jobs)
    parameters = [whole_numbers(struct_to_dict(job.parameters)) for job in jobs]
    summaries = [
        {k: v for k, v in whole_numbers(struct_to_dict(job.summary)).items() if _scalar(v)}
        for job in jobs
    ]
    taken = {*RUN_COLUMNS, "estimate", "stderr"}
    # name -> column; sorted by name, as a Struct's keys come in no set order.
    parameter_columns = {
        name: f"parameters.{name}" if name in taken else name
        for name in sorted({name for p in parameters for name in p})
    }
    taken |= set(parameter_columns.values())
    summary_columns = {
        name: f"summary.{name}" if name in taken else name
        for name in sorted({name for s in summaries for name in s})
    }
    rows = []
    for job, given, summary in zip(jobs, parameters, summaries, strict=True):
        progress = job.progress
        rows.append(
            {
                "job_id": job.job_id,
                "model": job.model,
                "state": state_name(job.state),
                "created": job.created_at.ToDatetime(UTC) if job.HasField("created_at") else None,
                **{parameter_columns[name]: value for name, value in given.items()},
                "estimate": progress.estimate if progress.HasField("estimate") else None,
                "stderr": progress.stderr if progress.HasField("stderr") else None,
                **{summary_columns[name]: value for name, value in summary.items()},
            }
        )
    columns = [*RUN_COLUMNS, *parameter_columns.values(), "estimate", "stderr",
               *summary_columns.values()]  # fmt: skip
    return rows, columns


def _scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | str)


def pandas_module(what: str) -> Any:
    """pandas, or an ImportError that says `what` needs it and how to install it."""
    try:
        import pandas  # optional: the frames alone need it
    except ImportError:
        raise ImportError(f"{what} needs pandas: {EXTRA}") from None
    return pandas


def frame(rows: Sequence[dict[str, Any]], columns: Sequence[str], what: str) -> Any:
    """The rows as a DataFrame with exactly these columns (a missing value is None/NaN)."""
    return pandas_module(what).DataFrame.from_records(list(rows), columns=list(columns))


def write_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], path: Path) -> Path:
    """Writes the rows as CSV (needs nothing) or Parquet (needs pandas and pyarrow), as the
    file's suffix says."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: write .csv or .parquet (the suffix says which)")
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ImportError(f"writing {path.name} (Parquet) needs pyarrow: {EXTRA}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":  # pandas writes it through pyarrow
        frame(rows, columns, f"writing {path.name}").to_parquet(path, index=False)
        return path
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
