import { useEffect, useRef, useState } from "react";

type PlotlyModule = typeof import("plotly.js-basic-dist-min");
let plotly: Promise<PlotlyModule> | undefined;

/** Plotly's basic bundle (scatter, bar; ~380 KB gzipped) loads with the first chart, never on
 * first page load. */
export function loadPlotly(): Promise<PlotlyModule> {
  plotly ??= import("plotly.js-basic-dist-min");
  return plotly;
}

export const FONT = "Inter, ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
export const COLORS = ["#2f5bea", "#e8590c", "#0ca678", "#ae3ec9"];

const BASE_LAYOUT = {
  autosize: true,
  margin: { l: 64, r: 20, t: 12, b: 48 },
  font: { family: FONT, size: 12, color: "#334155" },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "#ffffff",
  hovermode: "x unified",
  legend: { orientation: "h", x: 0, y: 1.12, font: { size: 12 } },
  xaxis: { gridcolor: "#eef1f6", zeroline: false, linecolor: "#cbd5e1", ticks: "outside", tickcolor: "#cbd5e1" },
  yaxis: { gridcolor: "#eef1f6", zeroline: false, linecolor: "#cbd5e1", ticks: "outside", tickcolor: "#cbd5e1" },
};

function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = base[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object" && !Array.isArray(b)
        ? { ...(b as Record<string, unknown>), ...(v as Record<string, unknown>) }
        : v;
  }
  return out;
}

export interface PlotlyChartProps {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  height?: number;
  label: string;
  testId?: string;
}

/** A chart that took d ms to draw is drawn again no sooner than REDRAW_GAP × d after: a live
 * chart of thousands of SVG dots (~1 s each in chromium) then keeps the page responsive,
 * showing the latest data a little later. */
const REDRAW_GAP = 3;

export function PlotlyChart({ data, layout = {}, height = 320, label, testId }: PlotlyChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<"loading" | "ready" | "error">("loading");
  const lastDraw = useRef({ endedAt: 0, took: 0 });

  useEffect(() => {
    let cancelled = false;
    const draw = () =>
      loadPlotly()
        .then((P) => {
          if (cancelled || !ref.current) return;
          const started = performance.now();
          return P.react(ref.current, data, merge(BASE_LAYOUT, layout), {
            responsive: true,
            displaylogo: false,
            modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"],
          }).then(() => {
            const endedAt = performance.now();
            lastDraw.current = { endedAt, took: endedAt - started };
            if (!cancelled) setState("ready");
          });
        })
        .catch(() => !cancelled && setState("error"));
    // Newer data while waiting replaces this draw (the effect's cleanup cancels it).
    const wait = lastDraw.current.endedAt + REDRAW_GAP * lastDraw.current.took - performance.now();
    const timer = wait > 0 ? setTimeout(draw, wait) : undefined;
    if (timer === undefined) void draw();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [data, layout]);

  useEffect(() => {
    const el = ref.current;
    return () => {
      if (el) void loadPlotly().then((P) => P.purge(el));
    };
  }, []);

  return (
    <div className="chart-wrap" style={{ height }} data-testid={testId} data-chart-state={state}>
      <div ref={ref} className="chart" role="img" aria-label={label} style={{ height }} />
      {state === "loading" ? <div className="chart-overlay">Loading chart…</div> : null}
      {state === "error" ? <div className="chart-overlay">The chart could not be drawn.</div> : null}
    </div>
  );
}
