import { useAtomValue } from "jotai";
import { useMemo, useState } from "react";
import { StudyDesign, type Model } from "../../gen/simlab/v1/simulation_pb";
import { formatPercent } from "../../lib/precision";
import { heatmap, lineChart, sweptValues, type AxisValue, type Heatmap, type LineChart } from "../../lib/study/chart";
import { heatmapBitmap, VIRIDIS, zRange } from "../../lib/study/bitmap";
import { isLogAxis } from "../../lib/study/spec";
import { shownStudyAtom, studyConfidenceAtom, studyModelAtom, studyOutputAtom, studyRowsAtom } from "../../state/study";
import { hexAlpha } from "../Charts";
import { COLORS, PlotlyChart } from "../PlotlyChart";

type View = "line" | "heatmap";

/** Beyond this many dots a line's interval is a band, not an error bar each. */
const MAX_ERROR_BARS = 60;
/** Beyond this many dots a cloud has no error bars: they double its redraw time. */
const MAX_CLOUD_ERROR_BARS = 2000;
/** Beyond this many cells a grid's heatmap has no hover per cell (the table has the values):
 * an invisible marker each would cost ~0.4 s a redraw at 10,000. */
const MAX_HOVER_CELLS = 2500;

function paramLabel(model: Model | undefined, name: string): string {
  const p = model?.parameters.find((x) => x.name === name);
  return p ? `${p.label || name}${p.unit ? ` (${p.unit})` : ""}` : name;
}

/** The live chart of a study: estimate ± interval against a swept parameter, or (two or more
 * swept) a heatmap of the estimate over two of them. It redraws when the page takes in new
 * events, at most about once a second. */
export function StudyChartCard() {
  const study = useAtomValue(shownStudyAtom);
  const rows = useAtomValue(studyRowsAtom);
  const model = useAtomValue(studyModelAtom);
  const output = useAtomValue(studyOutputAtom);
  const confidence = useAtomValue(studyConfidenceAtom);
  const swept = useMemo(() => study?.swept ?? [], [study?.swept]);
  const [view, setView] = useState<View>(swept.length >= 2 ? "heatmap" : "line");
  const [x, setX] = useState(swept[0] ?? "");
  const [y, setY] = useState(swept[1] ?? "");
  const [slice, setSlice] = useState<Record<string, AxisValue>>({});
  const grid = study?.spec?.design !== StudyDesign.SOBOL && study?.spec?.design !== StudyDesign.RANDOM;
  const yLabel = `${output.label}${output.unit ? ` (${output.unit})` : ""}`;
  const withEstimate = rows.filter((r) => r.estimate !== undefined).length;

  const line = useMemo(() => (view === "line" && x ? lineChart(rows, x, swept) : undefined), [view, rows, x, swept]);
  const map = useMemo(() => (view === "heatmap" && x && y && x !== y ? heatmap(rows, x, y, { grid, swept, slice }) : undefined), [view, rows, x, y, grid, swept, slice]);
  if (!study) return null;
  const held = swept.filter((n) => n !== x && n !== y);

  return (
    <div className="card" data-testid="study-chart-card">
      <div className="card-head">
        <div>
          <h2>{output.label} by parameter</h2>
          <p className="muted">
            {view === "line" ? `Estimate ± its ${formatPercent(confidence)} interval.` : "The estimate over two swept parameters."} {withEstimate.toLocaleString("en-US")} of{" "}
            {study.points.toLocaleString("en-US")} points have an estimate.
          </p>
        </div>
        {swept.length >= 2 ? (
          <div className="chips" role="group" aria-label="Chart">
            {(["line", "heatmap"] as const).map((v) => (
              <button key={v} type="button" className={`chip ${view === v ? "on" : ""}`} aria-pressed={view === v} onClick={() => setView(v)} data-testid={`chart-view-${v}`}>
                {v === "line" ? "Line" : "Heatmap"}
              </button>
            ))}
          </div>
        ) : null}
      </div>
      {swept.length >= 2 ? (
        <div className="chart-axes">
          <AxisPicker id="chart-x" label={view === "line" ? "Plot against" : "Horizontal (x)"} value={x} options={swept} model={model} onChange={setX} />
          {view === "heatmap" ? <AxisPicker id="chart-y" label="Vertical (y)" value={y} options={swept} model={model} onChange={setY} /> : null}
          {view === "heatmap" && grid
            ? held.map((n) => (
                <SlicePicker key={n} name={n} label={paramLabel(model, n)} values={sweptValues(rows, n)} value={slice[n]} onChange={(v) => setSlice((s) => ({ ...s, [n]: v }))} />
              ))
            : null}
        </div>
      ) : null}
      {view === "heatmap" && x === y ? <p className="hint warn">Pick two different parameters.</p> : null}
      {line ? (
        <LinePlot chart={line} xLabel={paramLabel(model, x)} yLabel={yLabel} logX={isLogAxis(study.spec, x)} />
      ) : map ? (
        <HeatmapPlot map={map} xLabel={paramLabel(model, x)} yLabel={paramLabel(model, y)} zLabel={yLabel} />
      ) : null}
    </div>
  );
}

function AxisPicker({ id, label, value, options, model, onChange }: { id: string; label: string; value: string; options: readonly string[]; model: Model | undefined; onChange: (v: string) => void }) {
  return (
    <label className="field chart-axis" htmlFor={id}>
      <span className="field-label">{label}</span>
      <select id={id} className="input" value={value} onChange={(e) => onChange(e.target.value)} data-testid={id}>
        {options.map((n) => (
          <option key={n} value={n}>
            {paramLabel(model, n)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Holds a swept parameter that is on neither axis of a grid's heatmap at one of its values. */
function SlicePicker({ name, label, values, value, onChange }: { name: string; label: string; values: AxisValue[]; value: AxisValue | undefined; onChange: (v: AxisValue) => void }) {
  const shown = value ?? values[0];
  return (
    <label className="field chart-axis" htmlFor={`slice-${name}`}>
      <span className="field-label">At {label}</span>
      <select id={`slice-${name}`} className="input" value={String(shown)} onChange={(e) => onChange(values.find((v) => String(v) === e.target.value) ?? e.target.value)} data-testid={`chart-slice-${name}`}>
        {values.map((v) => (
          <option key={String(v)} value={String(v)}>
            {String(v)}
          </option>
        ))}
      </select>
    </label>
  );
}

function LinePlot({ chart, xLabel, yLabel, logX }: { chart: LineChart; xLabel: string; yLabel: string; logX: boolean }) {
  const data = useMemo(() => {
    const traces: Record<string, unknown>[] = [];
    chart.series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length]!;
      const bars = chart.cloud ? s.x.length <= MAX_CLOUD_ERROR_BARS : s.x.length <= MAX_ERROR_BARS;
      const hw = s.halfWidth.map((h) => h ?? 0);
      if (!bars && !chart.cloud) {
        // A band: the upper edge, then the lower one filled up to it.
        traces.push({ x: s.x, y: s.y.map((v, k) => v + hw[k]!), type: "scatter", mode: "lines", line: { width: 0, color }, hoverinfo: "skip", showlegend: false });
        traces.push({ x: s.x, y: s.y.map((v, k) => v - hw[k]!), type: "scatter", mode: "lines", line: { width: 0, color }, fill: "tonexty", fillcolor: hexAlpha(color, 0.16), hoverinfo: "skip", showlegend: false });
      }
      traces.push({
        x: s.x,
        y: s.y,
        type: "scatter",
        mode: chart.cloud ? "markers" : s.x.length < 40 ? "lines+markers" : "lines",
        name: s.name || "Estimate",
        showlegend: chart.series.length > 1,
        line: { width: 2, color },
        marker: { size: chart.cloud ? 4 : 6, color },
        ...(bars ? { error_y: { type: "data", array: hw, color: hexAlpha(color, 0.6), thickness: 1.2, width: chart.cloud ? 0 : 4 } } : {}),
        customdata: s.index.map((idx, k) => [idx, s.halfWidth[k]]),
        hovertemplate: "point %{customdata[0]}: %{y:.6g} ± %{customdata[1]:.3g}<extra>" + (s.name || "") + "</extra>",
      });
    });
    return traces;
  }, [chart]);
  const layout = useMemo(
    () => ({ hovermode: "closest", xaxis: { title: { text: xLabel }, type: logX ? "log" : "-" }, yaxis: { title: { text: yLabel } } }),
    [xLabel, yLabel, logX],
  );
  return <PlotlyChart data={data} layout={layout} height={360} label={`${yLabel} against ${xLabel}`} testId="study-chart" />;
}

function HeatmapPlot({ map, xLabel, yLabel, zLabel }: { map: Heatmap; xLabel: string; yLabel: string; zLabel: string }) {
  const { data, layout } = useMemo(() => heatmapFigure(map, xLabel, yLabel, zLabel), [map, xLabel, yLabel, zLabel]);
  return <PlotlyChart data={data} layout={layout} height={380} label={`${zLabel} over ${xLabel} and ${yLabel}`} testId="study-heatmap" />;
}

/**
 * A grid's cells are one image, a pixel per cell stretched over the axes (Plotly's basic
 * bundle has no heatmap trace, and thousands of SVG shapes redraw too slowly), with a colour
 * bar beside it; cells without an estimate yet are grey. Up to MAX_HOVER_CELLS cells have a
 * hover each. A sampled design's points are dots coloured the same way.
 */
function heatmapFigure(map: Heatmap, xLabel: string, yLabel: string, zLabel: string): { data: Record<string, unknown>[]; layout: Record<string, unknown> } {
  const colorbar = { title: { text: zLabel, side: "right" }, thickness: 14 };
  const colorscale = VIRIDIS;
  if (map.kind === "scatter") {
    return {
      data: [
        {
          x: map.x,
          y: map.y,
          type: "scatter",
          mode: "markers",
          marker: { size: 8, color: map.z, colorscale, showscale: true, colorbar },
          customdata: map.index,
          hovertemplate: "point %{customdata}: %{marker.color:.6g}<extra></extra>",
        },
      ],
      layout: { hovermode: "closest", xaxis: { title: { text: xLabel } }, yaxis: { title: { text: yLabel } } },
    };
  }
  const nx = map.xValues.length;
  const ny = map.yValues.length;
  const range = zRange(map.z);
  // The colour bar: an invisible trace spanning the estimates' range.
  const data: Record<string, unknown>[] = [
    {
      type: "scatter",
      mode: "markers",
      x: [0, 0],
      y: [0, 0],
      marker: { opacity: 0, size: 1, color: range ?? [0, 1], cmin: range?.[0] ?? 0, cmax: range?.[1] ?? 1, colorscale, showscale: range !== undefined, colorbar },
      hoverinfo: "skip",
      showlegend: false,
    },
  ];
  if (nx * ny <= MAX_HOVER_CELLS) {
    const hover = { x: [] as number[], y: [] as number[], custom: [] as unknown[][] };
    map.index.forEach((row, j) =>
      row.forEach((idx, i) => {
        if (idx === null) return;
        hover.x.push(i);
        hover.y.push(j + 0.5);
        hover.custom.push([idx, String(map.xValues[i]), String(map.yValues[j]), map.z[j]![i], map.halfWidth[j]![i]]);
      }),
    );
    data.push({
      type: "scatter",
      mode: "markers",
      x: hover.x,
      y: hover.y,
      marker: { opacity: 0, size: 12, symbol: "square" },
      customdata: hover.custom,
      hovertemplate: `${xLabel} = %{customdata[1]}<br>${yLabel} = %{customdata[2]}<br>point %{customdata[0]}: %{customdata[3]:.6g} ± %{customdata[4]:.3g}<extra></extra>`,
      showlegend: false,
    });
  }
  const ticks = (values: AxisValue[], offset: number) => {
    // At most ~12 labels on an axis.
    const step = Math.max(1, Math.ceil(values.length / 12));
    const at = values.map((_, k) => k).filter((k) => k % step === 0);
    return { tickvals: at.map((k) => k + offset), ticktext: at.map((k) => String(values[k])) };
  };
  return {
    data,
    layout: {
      hovermode: "closest",
      images: range
        ? [{ source: heatmapBitmap(map.z, range), xref: "x", yref: "y", x: -0.5, y: ny, sizex: nx, sizey: ny, sizing: "stretch", layer: "below" }]
        : [],
      xaxis: { title: { text: xLabel }, ...ticks(map.xValues, 0), range: [-0.5, nx - 0.5], showgrid: false, zeroline: false },
      yaxis: { title: { text: yLabel }, ...ticks(map.yValues, 0.5), range: [0, ny], showgrid: false, zeroline: false },
    },
  };
}
