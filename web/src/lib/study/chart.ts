// What the Study page's charts draw: the estimate ± its interval against one swept parameter
// (a line per combination of the others, when they are few), and a heatmap of the estimate
// over two swept parameters. Pure: the components turn these into Plotly traces.
import type { JsonValue } from "@bufbuild/protobuf";
import type { PointRow } from "./points";

/** Beyond this many combinations of the other swept parameters, one cloud of dots instead
 * of a line each. */
export const MAX_LINES = 8;

export type AxisValue = number | string;

/** A chart's axis value of a parameter's JSON value (a choice or a flag as text). */
export function axisValue(v: JsonValue | undefined): AxisValue | undefined {
  if (typeof v === "number" || typeof v === "string") return v;
  if (typeof v === "boolean") return String(v);
  return undefined;
}

function compareAxis(a: AxisValue, b: AxisValue): number {
  return typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
}

/** "volatility = 0.2, spot = 100" */
function describe(params: Record<string, JsonValue>, names: readonly string[]): string {
  return names.map((n) => `${n} = ${String(params[n])}`).join(", ");
}

export interface LineSeries {
  /** The values of the other swept parameters it holds ("" when there are none). */
  name: string;
  x: AxisValue[];
  y: number[];
  halfWidth: (number | null)[];
  /** Point index of each dot (hover, click). */
  index: number[];
}

export interface LineChart {
  series: LineSeries[];
  /** Dots without lines: too many combinations of the other parameters to draw each. */
  cloud: boolean;
}

/** Estimate ± interval against `x`, for the points that have an estimate. */
export function lineChart(rows: readonly PointRow[], x: string, swept: readonly string[]): LineChart {
  const others = swept.filter((n) => n !== x);
  const groups = new Map<string, PointRow[]>();
  for (const row of rows) {
    if (row.estimate === undefined || axisValue(row.params[x]) === undefined) continue;
    const key = JSON.stringify(others.map((n) => row.params[n] ?? null));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(row);
  }
  const cloud = groups.size > MAX_LINES;
  // Lines in the order of the other parameters' values (the first one's first).
  const byValues = (a: PointRow[], b: PointRow[]) => {
    for (const n of others) {
      const c = compareAxis(axisValue(a[0]!.params[n]) ?? "", axisValue(b[0]!.params[n]) ?? "");
      if (c !== 0) return c;
    }
    return 0;
  };
  const parts = cloud ? [[...groups.values()].flat()] : [...groups.values()].sort(byValues);
  const series = parts.map((g) => {
    const sorted = [...g].sort((a, b) => compareAxis(axisValue(a.params[x])!, axisValue(b.params[x])!) || a.index - b.index);
    return {
      name: cloud || others.length === 0 ? "" : describe(sorted[0]!.params, others),
      x: sorted.map((r) => axisValue(r.params[x])!),
      y: sorted.map((r) => r.estimate!),
      halfWidth: sorted.map((r) => r.halfWidth ?? null),
      index: sorted.map((r) => r.index),
    };
  });
  return { series, cloud };
}

/** A grid's heatmap: cells[yi][xi] over the distinct values of two swept parameters. */
export interface HeatmapGrid {
  kind: "grid";
  xValues: AxisValue[];
  yValues: AxisValue[];
  /** The estimate of each cell (null: not known yet). */
  z: (number | null)[][];
  halfWidth: (number | null)[][];
  index: (number | null)[][];
}

/** Sampled designs have no grid: each point is a dot at its (x, y), coloured by estimate. */
export interface HeatmapScatter {
  kind: "scatter";
  x: AxisValue[];
  y: AxisValue[];
  z: number[];
  index: number[];
}

export type Heatmap = HeatmapGrid | HeatmapScatter;

/** The distinct values each swept parameter takes among the rows, sorted. */
export function sweptValues(rows: readonly PointRow[], name: string): AxisValue[] {
  const seen = new Map<string, AxisValue>();
  for (const row of rows) {
    const v = axisValue(row.params[name]);
    if (v !== undefined) seen.set(`${typeof v}:${v}`, v);
  }
  return [...seen.values()].sort(compareAxis);
}

/**
 * The estimate over `x` and `y`. A grid study gives cells; the other swept parameters are
 * held at `slice` (their first value when not given). A sampled study gives dots.
 */
export function heatmap(
  rows: readonly PointRow[],
  x: string,
  y: string,
  opts: { grid: boolean; swept: readonly string[]; slice?: Readonly<Record<string, AxisValue>> },
): Heatmap {
  if (!opts.grid) {
    const dots = rows.filter((r) => r.estimate !== undefined && axisValue(r.params[x]) !== undefined && axisValue(r.params[y]) !== undefined);
    return {
      kind: "scatter",
      x: dots.map((r) => axisValue(r.params[x])!),
      y: dots.map((r) => axisValue(r.params[y])!),
      z: dots.map((r) => r.estimate!),
      index: dots.map((r) => r.index),
    };
  }
  const held = opts.swept.filter((n) => n !== x && n !== y);
  const at: Record<string, AxisValue | undefined> = {};
  for (const n of held) at[n] = opts.slice?.[n] ?? sweptValues(rows, n)[0];
  const inSlice = rows.filter((r) => held.every((n) => axisValue(r.params[n]) === at[n]));
  const xValues = sweptValues(rows, x);
  const yValues = sweptValues(rows, y);
  const xi = new Map(xValues.map((v, i) => [v, i]));
  const yi = new Map(yValues.map((v, i) => [v, i]));
  const empty = () => yValues.map(() => xValues.map((): number | null => null));
  const z = empty();
  const halfWidth = empty();
  const index = empty();
  for (const r of inSlice) {
    const i = xi.get(axisValue(r.params[x])!);
    const j = yi.get(axisValue(r.params[y])!);
    if (i === undefined || j === undefined) continue;
    index[j]![i] = r.index;
    z[j]![i] = r.estimate ?? null;
    halfWidth[j]![i] = r.halfWidth ?? null;
  }
  return { kind: "grid", xValues, yValues, z, halfWidth, index };
}
