import { atom, useAtomValue, useSetAtom } from "jotai";
import { family } from "../lib/family";
import { orderOutputs, orderParams } from "../lib/order";
import { useEffect, useMemo, useState } from "react";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { JobState, type Model } from "../gen/simlab/v1/simulation_pb";
import type { Histogram } from "../lib/chart";
import { compareCandidatesAtom, refreshCompareCandidatesAtom } from "../state/compare";
import { modelsLoadableAtom } from "../state/models";
import { runDataAtom, type Result, type RunData } from "../state/results";
import { locationAtom } from "../state/router";
import { ConvergenceChart, HistogramChart } from "../components/Charts";
import { Link } from "../components/Link";
import { COLORS } from "../components/PlotlyChart";
import { EmptyState, ErrorState, Spinner } from "../components/States";
import { formatNumber, formatRelative, shortId } from "../lib/format";

export function ComparePage({ ids }: { ids: string[] }) {
  return (
    <section className="page" data-testid="compare-page">
      <header className="page-head">
        <div>
          <h1>Compare runs</h1>
          <p className="muted">Overlay the charts of 2–4 finished runs of one model and see what differs.</p>
        </div>
      </header>
      {ids.length >= 2 ? <Comparison ids={ids} /> : <Picker initial={ids} />}
    </section>
  );
}

function Picker({ initial }: { initial: string[] }) {
  const [model, setModel] = useState("");
  const [picked, setPicked] = useState<string[]>(initial);
  const candidates = useAtomValue(compareCandidatesAtom(model));
  const refresh = useSetAtom(refreshCompareCandidatesAtom);
  useEffect(() => refresh(), [refresh]);
  const models = useAtomValue(modelsLoadableAtom);
  const navigate = useSetAtom(locationAtom);
  const modelList = models.state === "hasData" ? models.data : [];
  const jobs = candidates?.jobs ?? [];
  const pickedModel = jobs.find((j) => j.jobId === picked[0])?.model;
  const toggle = (id: string) => setPicked((s) => (s.includes(id) ? s.filter((x) => x !== id) : s.length >= 4 ? s : [...s, id]));

  return (
    <div className="card">
      <div className="card-head">
        <div>
          <h2>Pick runs</h2>
          <p className="muted">Select 2 to 4 finished runs of the same model.</p>
        </div>
        <div className="row">
          <label htmlFor="cmp-model" className="sr-only">
            Model
          </label>
          <select id="cmp-model" className="input narrow" value={model} onChange={(e) => setModel(e.target.value)}>
            <option value="">All models</option>
            {modelList.map((m) => (
              <option key={m.name} value={m.name}>
                {m.title || m.name}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="btn btn-primary"
            disabled={picked.length < 2}
            onClick={() => navigate(`/compare?ids=${picked.map(encodeURIComponent).join(",")}`)}
            data-testid="compare-go"
          >
            Compare {picked.length ? `(${picked.length})` : ""}
          </button>
        </div>
      </div>
      {candidates === null ? (
        <Spinner label="Loading finished runs" />
      ) : candidates.error ? (
        <ErrorState error={candidates.error} />
      ) : jobs.length === 0 ? (
        <EmptyState title="No finished runs yet" action={<Link className="btn btn-primary" to="/new">New simulation</Link>}>
          Runs appear here once they have succeeded.
        </EmptyState>
      ) : (
        <table className="table runs">
          <thead>
            <tr>
              <th className="sel" />
              <th>Run</th>
              <th>Model</th>
              <th className="num">Estimate</th>
              <th>Submitted</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => {
              const disabled = !!pickedModel && j.model !== pickedModel && !picked.includes(j.jobId);
              return (
                <tr
                  key={j.jobId}
                  className={`clickable ${picked.includes(j.jobId) ? "selected" : ""}`}
                  onClick={(e) => {
                    if (!disabled && !(e.target instanceof HTMLInputElement)) toggle(j.jobId);
                  }}
                >
                  <td className="sel">
                    <input
                      type="checkbox"
                      aria-label={`Compare run ${shortId(j.jobId)}`}
                      checked={picked.includes(j.jobId)}
                      disabled={disabled}
                      onChange={() => toggle(j.jobId)}
                    />
                  </td>
                  <td className="mono">{shortId(j.jobId)}</td>
                  <td>{modelList.find((m) => m.name === j.model)?.title || j.model}</td>
                  <td className="num mono">{formatNumber(j.progress?.estimate)}</td>
                  <td>{formatRelative(j.createdAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Comparison({ ids }: { ids: string[] }) {
  const data = useAtomValue(compareRunsAtom(ids.join(",")));
  const results = ids.map((id, i) => ({ id, r: data[i] ?? null }));
  const models = useAtomValue(modelsLoadableAtom);
  if (results.some((x) => x.r === null)) return <Spinner label="Loading runs" />;
  const failed = results.filter((x) => x.r && !x.r.ok);
  if (failed.length) {
    return (
      <ErrorState
        title="Some runs could not be loaded"
        error={failed.map((f) => `${shortId(f.id)}: ${f.r && !f.r.ok ? f.r.error.message : ""}`).join(" · ")}
      />
    );
  }
  const runs = results.map((x) => (x.r as { ok: true; value: RunData }).value);
  const modelNames = new Set(runs.map((r) => r.job.model));
  if (modelNames.size > 1) {
    return <ErrorState title="Runs of different models" error={`Compare needs runs of one model; these are ${[...modelNames].join(", ")}.`} />;
  }
  const model = models.state === "hasData" ? models.data.find((m) => m.name === runs[0]!.job.model) : undefined;
  return <ComparisonView runs={runs} model={model} />;
}

const compareRunsAtom = family((key: string) =>
  atom((get): (Result<RunData> | null)[] => key.split(",").map((id) => get(runDataAtom(id)))),
);

function runName(r: RunData, i: number): string {
  return `${String.fromCharCode(65 + i)} · ${shortId(r.job.jobId)}`;
}

function ComparisonView({ runs, model }: { runs: RunData[]; model: Model | undefined }) {
  const [onlyDiff, setOnlyDiff] = useState(false);
  const output = model?.outputs.find((o) => o.name === runs[0]!.job.primaryOutput);
  const series = useMemo(
    () =>
      runs.map((r, i) => {
        const c = r.chart?.convergence;
        const points =
          c && c.samples.length >= r.points.length
            ? c.samples.map((s, k) => ({ seq: BigInt(k), samples: s, estimate: c.estimate[k] ?? NaN, ...(c.stderr[k] !== undefined ? { stderr: c.stderr[k] } : {}) }))
            : r.points;
        return { name: runName(r, i), points, color: COLORS[i]! };
      }),
    [runs],
  );
  const histNames = useMemo(() => {
    const names = new Map<string, Histogram[]>();
    runs.forEach((r) => r.chart?.histograms.forEach((h) => names.set(h.name, [...(names.get(h.name) ?? []), h])));
    return [...names.entries()].filter(([, hs]) => hs.length === runs.length);
  }, [runs]);

  const paramRows = useMemo(() => {
    const keys = new Set<string>();
    runs.forEach((r) => Object.keys(r.job.parameters ?? {}).forEach((k) => keys.add(k)));
    const rows: { key: string; label: string; values: string[] }[] = orderParams(model, [...keys]).map((k) => {
      const p = model?.parameters.find((x) => x.name === k);
      return { key: k, label: (p?.label || k) + (p?.unit ? ` (${p.unit})` : ""), values: runs.map((r) => show(r.job.parameters?.[k])) };
    });
    rows.push({ key: "seed", label: "Seed", values: runs.map((r) => r.job.seed.toString()) });
    rows.push({ key: "shards", label: "Shards", values: runs.map((r) => String(r.job.shards)) });
    return rows;
  }, [runs, model]);

  const summaryRows = useMemo(() => {
    const flat = runs.map((r) => flatten(r.job.summary ?? {}));
    const keys = orderOutputs(model, runs[0]!.job.primaryOutput, [...new Set(flat.flatMap((f) => Object.keys(f)))]);
    return keys.map((k) => {
      const out = model?.outputs.find((o) => o.name === k);
      const vals = flat.map((f) => f[k]);
      return { key: k, label: (out?.label || k) + (out?.unit ? ` (${out.unit})` : ""), vals };
    });
  }, [runs, model]);

  const differs = (vals: string[]) => new Set(vals).size > 1;

  return (
    <div className="compare">
      <div className="run-chips">
        {runs.map((r, i) => (
          <Link key={r.job.jobId} to={`/runs/${encodeURIComponent(r.job.jobId)}`} className="run-chip">
            <span className="swatch" style={{ background: COLORS[i] }} />
            <strong>{String.fromCharCode(65 + i)}</strong>
            <span className="mono">{shortId(r.job.jobId)}</span>
            <span className="muted">{formatRelative(r.job.createdAt)}</span>
          </Link>
        ))}
        <Link to="/compare" className="btn btn-ghost">
          Change selection
        </Link>
      </div>

      <div className="card">
        <div className="card-head">
          <h2>Convergence</h2>
          <span className="muted">{output?.label || runs[0]!.job.primaryOutput} ± 1 standard error</span>
        </div>
        <ConvergenceChart series={series} label={output?.label || runs[0]!.job.primaryOutput || "Estimate"} unit={output?.unit ?? ""} testId="compare-chart" />
      </div>

      {histNames.map(([name, hs]) => (
        <div className="card" key={name}>
          <div className="card-head">
            <h2>Distribution: {hs[0]!.label}</h2>
          </div>
          <HistogramChart hists={hs} names={runs.map(runName)} testId="compare-histogram" />
        </div>
      ))}

      <div className="two-col">
        <div className="card">
          <div className="card-head">
            <h2>Parameters</h2>
            <label className="check small">
              <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)} />
              <span>Only differences</span>
            </label>
          </div>
          <table className="table diff" data-testid="param-diff">
            <thead>
              <tr>
                <th />
                {runs.map((r, i) => (
                  <th key={r.job.jobId} className="num">
                    <span className="swatch" style={{ background: COLORS[i] }} /> {String.fromCharCode(65 + i)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {paramRows
                .filter((row) => !onlyDiff || differs(row.values))
                .map((row) => (
                  <tr key={row.key} className={differs(row.values) ? "changed" : ""}>
                    <th scope="row">{row.label}</th>
                    {row.values.map((v, i) => (
                      <td key={i} className="mono num">
                        {v}
                      </td>
                    ))}
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
        <div className="card">
          <div className="card-head">
            <h2>Summary</h2>
            <span className="muted">Δ relative to A</span>
          </div>
          <table className="table diff" data-testid="summary-diff">
            <thead>
              <tr>
                <th />
                {runs.map((r, i) => (
                  <th key={r.job.jobId} className="num">
                    <span className="swatch" style={{ background: COLORS[i] }} /> {String.fromCharCode(65 + i)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {summaryRows.map((row) => {
                const base = row.vals[0];
                return (
                  <tr key={row.key} className={differs(row.vals.map(show)) ? "changed" : ""}>
                    <th scope="row">{row.label}</th>
                    {row.vals.map((v, i) => (
                      <td key={i} className="mono num">
                        {show(v)}
                        {i > 0 && typeof v === "number" && typeof base === "number" && v !== base ? (
                          <div className={`delta ${v > base ? "up" : "down"}`}>
                            {v > base ? "+" : ""}
                            {formatNumber(v - base)}
                            {base !== 0 ? ` (${(((v - base) / Math.abs(base)) * 100).toFixed(2)}%)` : ""}
                          </div>
                        ) : null}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </div>
      {runs.some((r) => r.job.state !== JobState.SUCCEEDED) ? (
        <p className="hint warn">Some of these runs have not succeeded; their numbers may be partial.</p>
      ) : null}
    </div>
  );
}

function show(v: JsonValue | undefined): string {
  if (v === undefined) return "—";
  if (Array.isArray(v)) return v.map((x) => formatNumber(x)).join(", ");
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return formatNumber(v);
}

function flatten(obj: JsonObject, prefix = ""): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flatten(v as JsonObject, key));
    else out[key] = v;
  }
  return out;
}
