// chart.json, written by the worker next to plot.png: the convergence series and histograms
// with labels and units. Read tolerantly: a field that is missing just hides that chart.

export interface ConvergenceSeries {
  samples: number[];
  estimate: number[];
  stderr: number[];
  label: string;
  unit: string;
  /** A reference value (e.g. a closed form) drawn as a line, when the model has one. */
  reference?: number;
  referenceLabel?: string;
}

export interface Histogram {
  name: string;
  label: string;
  unit: string;
  /** Bin edges (length counts + 1). */
  edges: number[];
  counts: number[];
}

export interface ChartData {
  title?: string;
  convergence?: ConvergenceSeries;
  histograms: Histogram[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nums(v: unknown): number[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((x) => (typeof x === "number" ? x : x === null ? NaN : Number(x)));
}

function pick(o: Obj, ...keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function parseConvergence(v: unknown): ConvergenceSeries | undefined {
  if (!isObj(v)) return undefined;
  const samples = nums(pick(v, "samples", "samples_done", "x", "n"));
  const estimate = nums(pick(v, "estimate", "estimates", "mean", "y"));
  if (!samples || !estimate) return undefined;
  const stderr = nums(pick(v, "stderr", "standard_error", "se", "err")) ?? [];
  const ref = pick(v, "reference", "exact", "analytic", "closed_form");
  const refObj = isObj(ref) ? ref : undefined;
  const refValue = typeof ref === "number" ? ref : refObj ? pick(refObj, "value") : undefined;
  return {
    samples,
    estimate,
    stderr,
    label: str(pick(v, "label", "y_label", "name")),
    unit: str(pick(v, "unit", "y_unit")),
    ...(typeof refValue === "number" ? { reference: refValue } : {}),
    ...(refObj || typeof pick(v, "reference_label") === "string"
      ? { referenceLabel: str(refObj ? pick(refObj, "label") : pick(v, "reference_label")) }
      : {}),
  };
}

function parseHistogram(v: unknown, fallbackName: string): Histogram | undefined {
  if (!isObj(v)) return undefined;
  const counts = nums(pick(v, "counts", "count", "density", "values", "frequencies"));
  let edges = nums(pick(v, "edges", "bin_edges", "bins"));
  if (!counts) return undefined;
  if (!edges) {
    const centers = nums(pick(v, "centers", "bin_centers", "x"));
    if (centers && centers.length === counts.length && centers.length > 1) {
      const w = (centers[1]! - centers[0]!) / 2;
      edges = [...centers.map((c) => c - w), centers[centers.length - 1]! + w];
    } else {
      const lo = pick(v, "lo", "low", "min", "range_min");
      const hi = pick(v, "hi", "high", "max", "range_max");
      if (typeof lo === "number" && typeof hi === "number") {
        edges = Array.from({ length: counts.length + 1 }, (_, i) => lo + ((hi - lo) * i) / counts.length);
      }
    }
  }
  if (!edges || edges.length !== counts.length + 1) return undefined;
  const name = str(pick(v, "name", "output")) || fallbackName;
  return { name, label: str(pick(v, "label", "title")) || name, unit: str(pick(v, "unit", "x_unit")), edges, counts };
}

export function parseChart(raw: unknown): ChartData {
  if (!isObj(raw)) return { histograms: [] };
  const histRaw = pick(raw, "histograms", "hists", "histogram");
  const histograms: Histogram[] = [];
  if (Array.isArray(histRaw)) {
    histRaw.forEach((h, i) => {
      const p = parseHistogram(h, `histogram ${i + 1}`);
      if (p) histograms.push(p);
    });
  } else if (isObj(histRaw)) {
    const single = parseHistogram(histRaw, "histogram");
    if (single) histograms.push(single);
    else
      for (const [k, h] of Object.entries(histRaw)) {
        const p = parseHistogram(h, k);
        if (p) histograms.push(p);
      }
  }
  let convergence = parseConvergence(pick(raw, "convergence", "progress", "series"));
  // The worker's layout: labels of the primary output and the reference value at the top.
  const primary = pick(raw, "primary");
  if (convergence && isObj(primary)) {
    convergence = {
      ...convergence,
      label: convergence.label || str(pick(primary, "label", "name")),
      unit: convergence.unit || str(pick(primary, "unit")),
    };
  }
  const ref = pick(raw, "reference");
  if (convergence && convergence.reference === undefined && isObj(ref) && typeof ref.value === "number") {
    convergence = { ...convergence, reference: ref.value, referenceLabel: str(pick(ref, "label", "name")) };
  }
  const title = str(pick(raw, "title"));
  return { ...(title ? { title } : {}), ...(convergence ? { convergence } : {}), histograms };
}
