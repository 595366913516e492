"""The files a finished blocks run leaves under jobs/<job_id>/ (stored through the job store):

- summary.json      the summary, with the job it came from (model, parameters, seed, ...)
- plot.png          convergence and distribution (matplotlib)
- data.csv          the model's columns (e.g. histogram bins and counts)
- data.npz          the same columns plus the convergence arrays, for NumPy
- convergence.csv   samples, estimate and standard error after each block, in block order
- chart.json        what an interactive web chart needs: series, histograms, labels, units
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from simlab.models.base import Model
from simlab_worker.core.engine import Result, Run, json_safe
from simlab_worker.core.plots import output_label, render_png

# chart.json thins long convergence series to about this many points (log-spaced, as the
# chart's sample axis is); convergence.csv keeps every block.
CHART_POINTS = 2000


def build(job_id: str, run: Run, shards: int, result: Result) -> dict[str, bytes]:
    """Every artifact's bytes by file name."""
    convergence = {
        "samples": result.convergence.samples,
        "estimate": result.convergence.estimate,
        "stderr": result.convergence.stderr,
    }
    return {
        "plot.png": render_png(run.model, result),
        "data.csv": _csv(result.data),
        "data.npz": _npz(
            {**result.data, **{f"convergence_{k}": v for k, v in convergence.items()}}
        ),
        "convergence.csv": _csv(
            {"block": np.arange(len(result.convergence.samples)), **convergence}
        ),
        "chart.json": _json(_chart(job_id, run, result)),
        "summary.json": _json(
            {
                "job_id": job_id,
                "model": run.model.name,
                "parameters": dict(run.params),
                "seed": run.seed,
                "shards": shards,
                "samples": result.stats.samples,
                # The blocks the result merges (with a precision target, those of its stop).
                "blocks": len(result.convergence.samples),
                "summary": result.summary,
            }
        ),
    }


def _chart(job_id: str, run: Run, result: Result) -> dict[str, Any]:
    model = run.model
    sample = model.sample_param
    reference = None
    if model.reference and result.summary.get(model.reference) is not None:
        reference = {
            **_described(model, model.reference),
            "value": result.summary[model.reference],
        }
    points = _chart_points(len(result.convergence.samples))
    return {
        "job_id": job_id,
        "model": model.name,
        "title": model.title,
        "samples": {"name": sample.name, "label": sample.label, "unit": sample.unit},
        "primary": _described(model, model.primary_output),
        "reference": reference,
        # With a precision target: the half-width it asks for at the final estimate.
        "target": result.target,
        "convergence": {
            "samples": result.convergence.samples[points],
            "estimate": result.convergence.estimate[points],
            "stderr": result.convergence.stderr[points],
        },
        "histograms": [
            {
                **_described(model, name),
                "edges": histogram.edges,
                "counts": histogram.counts,
                "below": histogram.below,
                "above": histogram.above,
            }
            for name, histogram in sorted(result.stats.histograms.items())
        ],
        "summary": result.summary,
        "outputs": [_described(model, name) for name in result.summary],
    }


def _described(model: Model, name: str) -> dict[str, str]:
    label, unit = output_label(model, name)
    return {"name": name, "label": label, "unit": unit}


def _chart_points(n: int) -> np.ndarray:
    if n <= CHART_POINTS:
        return np.arange(n)
    # Block numbers 1..n, log-spaced; the first and the last are always kept.
    return np.unique(np.geomspace(1, n, CHART_POINTS).round().astype(np.int64)) - 1


def _json(value: Any) -> bytes:
    return json.dumps(json_safe(value), indent=2, allow_nan=False).encode() + b"\n"


def _csv(columns: Mapping[str, np.ndarray]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in zip(*(column.tolist() for column in columns.values()), strict=True):
        # repr keeps every bit of a float, so the CSV reads back to the same numbers.
        writer.writerow(repr(v) if isinstance(v, float) else v for v in row)
    return text.getvalue().encode()


def _npz(columns: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **columns)  # type: ignore[arg-type]
    return buffer.getvalue()
