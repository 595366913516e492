"""plot.png: how the estimate converged (± 2 standard errors, with the closed form when the
model has one, and the band a precision target asked for) and the distribution behind it (the
model's histograms)."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np

from simlab.core.stats import Histogram
from simlab.models.base import Model
from simlab_worker.core.engine import Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ESTIMATE_COLOUR = "#1f5fa8"
REFERENCE_COLOUR = "#c0392b"
TARGET_COLOUR = "#2e8b57"
HISTOGRAM_COLOUR = "#4c8cbf"
# Panels side by side: the convergence chart and at most this many histograms.
MAX_HISTOGRAMS = 2


def axis_label(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def output_label(model: Model, name: str) -> tuple[str, str]:
    """An output's label and unit; a name the model does not describe labels itself."""
    found = next((o for o in model.outputs if o.name == name), None)
    return (found.label, found.unit) if found else (name.replace("_", " "), "")


def render_png(model: Model, result: Result) -> bytes:
    # Imported here: matplotlib is slow to import and only the finalizing shard needs it.
    from matplotlib.figure import Figure

    histograms = sorted(result.stats.histograms.items())[:MAX_HISTOGRAMS]
    panels = 1 + len(histograms)
    figure = Figure(figsize=(6.4 * panels, 4.8), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]

    _draw_convergence(axes[0], model, result)
    for ax, (name, histogram) in zip(axes[1:], histograms, strict=True):
        _draw_histogram(ax, model, name, histogram)

    figure.suptitle(f"{model.title} — {_headline(model, result)}", fontsize=13)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _headline(model: Model, result: Result) -> str:
    label, unit = output_label(model, model.primary_output)
    estimate = float(result.convergence.estimate[-1])
    stderr = float(result.convergence.stderr[-1])
    spread = f", standard error {stderr:.3g}" if math.isfinite(stderr) else ""
    return f"{label} {estimate:.6g}{' ' + unit if unit else ''}{spread}"


def _draw_convergence(ax: Axes, model: Model, result: Result) -> None:
    from matplotlib.ticker import EngFormatter, NullFormatter

    convergence = result.convergence
    label, unit = output_label(model, model.primary_output)
    samples, estimate = convergence.samples, convergence.estimate
    band = 2.0 * convergence.stderr

    ax.fill_between(
        samples,
        estimate - band,
        estimate + band,
        color=ESTIMATE_COLOUR,
        alpha=0.2,
        linewidth=0,
        label="± 2 standard errors",
    )
    ax.plot(
        samples,
        estimate,
        color=ESTIMATE_COLOUR,
        linewidth=1.6,
        # Markers show where the blocks end when there are few of them.
        marker="o" if len(samples) < 30 else None,
        markersize=3,
        label="Monte Carlo estimate",
    )
    reference = result.summary.get(model.reference) if model.reference else None
    if isinstance(reference, int | float) and model.reference:
        reference_label, _ = output_label(model, model.reference)
        ax.axhline(
            reference,
            color=REFERENCE_COLOUR,
            linestyle="--",
            linewidth=1.3,
            label=f"{reference_label}: {reference:.6g}",
        )

    if result.target is not None:
        final = float(estimate[-1])
        ax.axhspan(
            final - result.target,
            final + result.target,
            color=TARGET_COLOUR,
            alpha=0.12,
            linewidth=0,
            label=f"target: ± {result.target:.3g}",
        )

    if len(samples) > 1 and samples[-1] >= 100 * samples[0]:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    # Sample counts read best as 100k, 2M, ...
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_xlabel(f"{model.sample_param.label} simulated")
    ax.set_ylabel(axis_label(label, unit))
    ax.set_title(f"Convergence of the {_lower_first(label)}")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    ax.legend(loc="best", fontsize=9, framealpha=0.9)


def _draw_histogram(ax: Axes, model: Model, name: str, histogram: Histogram) -> None:
    from matplotlib.ticker import EngFormatter

    label, unit = output_label(model, name)
    edges = histogram.edges
    ax.bar(
        edges[:-1],
        np.asarray(histogram.counts),
        width=np.diff(edges),
        align="edge",
        color=HISTOGRAM_COLOUR,
        edgecolor="white",
        linewidth=0.3,
    )
    outside = histogram.below + histogram.above
    if outside:
        ax.text(
            0.98,
            0.96,
            f"{outside:,} outside the range shown",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color="#555555",
        )
    ax.set_xlabel(axis_label(label, unit))
    per_bin = model.sample_param.unit or "samples"
    ax.set_ylabel(f"{per_bin.capitalize()} per bin")
    ax.set_title(f"Distribution of the {_lower_first(label)}")
    ax.yaxis.set_major_formatter(EngFormatter(sep=""))
    ax.grid(True, axis="y", alpha=0.35)
    ax.set_axisbelow(True)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
