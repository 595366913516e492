import { useMemo } from "react";
import type { Point } from "../api/watch";
import type { Histogram } from "../lib/chart";
import type { TargetBand } from "../lib/precision";
import { COLORS, PlotlyChart } from "./PlotlyChart";

export interface Series {
  name: string;
  points: Point[];
  color?: string;
}

function axisTitle(label: string, unit: string): string {
  return unit ? `${label} (${unit})` : label;
}

/** Estimate ± one standard error against samples; one or several runs overlaid. */
export function ConvergenceChart({
  series,
  label,
  unit = "",
  reference,
  referenceLabel,
  target,
  height = 340,
  testId = "convergence-chart",
  xLabel = "Samples",
}: {
  series: Series[];
  label: string;
  unit?: string;
  /** What the x axis counts (a script's progress is in its own units). */
  xLabel?: string;
  reference?: number;
  referenceLabel?: string;
  /** A precision target: the band the estimate must be known within, and its legend. */
  target?: { band: TargetBand; label: string };
  height?: number;
  testId?: string;
}) {
  const data = useMemo(() => {
    const traces: Record<string, unknown>[] = [];
    series.forEach((s, i) => {
      const color = s.color ?? COLORS[i % COLORS.length]!;
      const x = s.points.map((p) => p.samples);
      const y = s.points.map((p) => p.estimate);
      const hasErr = s.points.some((p) => p.stderr !== undefined);
      if (hasErr && s.points.length >= 2) {
        const up = s.points.map((p) => p.estimate + (p.stderr ?? 0));
        const lo = s.points.map((p) => p.estimate - (p.stderr ?? 0));
        traces.push({ x, y: up, type: "scatter", mode: "lines", line: { width: 0, color }, hoverinfo: "skip", showlegend: false });
        traces.push({
          x,
          y: lo,
          type: "scatter",
          mode: "lines",
          line: { width: 0, color },
          fill: "tonexty",
          fillcolor: hexAlpha(color, 0.16),
          hoverinfo: "skip",
          name: series.length > 1 ? `${s.name} ± s.e.` : "± 1 standard error",
          showlegend: series.length === 1,
        });
      }
      traces.push({
        x,
        y,
        type: "scatter",
        mode: s.points.length < 40 ? "lines+markers" : "lines",
        // A band needs two points: until then, an error bar.
        ...(s.points.length < 2 && hasErr
          ? { error_y: { type: "data", array: s.points.map((p) => p.stderr ?? 0), color, thickness: 1.5, width: 6 } }
          : {}),
        marker: { size: 5 },
        line: { width: 2, color },
        name: series.length > 1 ? s.name : "Estimate",
        customdata: s.points.map((p) => p.stderr ?? null),
        hovertemplate: "%{y:.6g} ± %{customdata:.3g}<extra>" + s.name + "</extra>",
      });
    });
    if (reference !== undefined) {
      const xs = series.flatMap((s) => s.points.map((p) => p.samples));
      if (xs.length) {
        traces.push({
          x: [Math.min(...xs), Math.max(...xs)],
          y: [reference, reference],
          type: "scatter",
          mode: "lines",
          line: { dash: "dash", width: 1.5, color: "#64748b" },
          name: referenceLabel || "Reference",
        });
      }
    }
    if (target) {
      const xs = series.flatMap((s) => s.points.map((p) => p.samples));
      if (xs.length) {
        const x = [Math.min(...xs), Math.max(...xs)];
        const edge = { type: "scatter", mode: "lines", line: { dash: "dot", width: 1.2, color: TARGET_COLOR }, hoverinfo: "skip" };
        traces.push({ ...edge, x, y: [target.band.hi, target.band.hi], showlegend: false, name: "target-hi" });
        traces.push({ ...edge, x, y: [target.band.lo, target.band.lo], fill: "tonexty", fillcolor: hexAlpha(TARGET_COLOR, 0.1), name: target.label });
      }
    }
    return traces;
  }, [series, reference, referenceLabel, target]);
  // Monte Carlo error shrinks as 1/sqrt(n): a log sample axis shows every stage of a long run.
  const log = useMemo(() => {
    const xs = series.flatMap((s) => s.points.map((p) => p.samples)).filter((x) => x > 0);
    return xs.length > 1 && Math.max(...xs) / Math.min(...xs) >= 50;
  }, [series]);
  const layout = useMemo(
    () => ({
      xaxis: { title: { text: log ? `${xLabel} (log scale)` : xLabel }, tickformat: "~s", type: log ? "log" : "linear" },
      yaxis: { title: { text: axisTitle(label, unit) } },
    }),
    [label, unit, log, xLabel],
  );
  return <PlotlyChart data={data} layout={layout} height={height} label={`Convergence of ${label}`} testId={testId} />;
}

/** A histogram from bin edges and counts; several overlaid for Compare. */
export function HistogramChart({
  hists,
  names,
  height = 300,
  testId = "histogram-chart",
}: {
  hists: Histogram[];
  names?: string[];
  height?: number;
  testId?: string;
}) {
  const first = hists[0];
  const data = useMemo(
    () =>
      hists.map((h, i) => {
        const centers = h.counts.map((_, j) => (h.edges[j]! + h.edges[j + 1]!) / 2);
        const widths = h.counts.map((_, j) => h.edges[j + 1]! - h.edges[j]!);
        const total = h.counts.reduce((a, b) => a + b, 0) || 1;
        const color = COLORS[i % COLORS.length]!;
        return {
          x: centers,
          y: hists.length > 1 ? h.counts.map((c) => c / total) : h.counts,
          width: widths,
          type: "bar",
          name: names?.[i] ?? h.label,
          marker: { color: hexAlpha(color, hists.length > 1 ? 0.5 : 0.75), line: { color, width: 0.5 } },
          hovertemplate: "%{x:.4g}: %{y:.4g}<extra></extra>",
        };
      }),
    [hists, names],
  );
  const layout = useMemo(
    () => ({
      barmode: "overlay",
      bargap: 0,
      hovermode: "closest",
      showlegend: hists.length > 1,
      xaxis: { title: { text: first ? axisTitle(first.label, first.unit) : "" } },
      yaxis: { title: { text: hists.length > 1 ? "Share of samples" : "Count" } },
    }),
    [first, hists.length],
  );
  if (!first) return null;
  return <PlotlyChart data={data} layout={layout} height={height} label={`Histogram of ${first.label}`} testId={testId} />;
}

const TARGET_COLOR = "#16a34a";

export function hexAlpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}
