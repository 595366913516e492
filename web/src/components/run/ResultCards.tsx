import { useAtomValue } from "jotai";
import { useState } from "react";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { JobState, type Job, type Model } from "../../gen/simlab/v1/simulation_pb";
import { fileUrl } from "../../api/client";
import { artifactsAtom, chartDataAtom } from "../../state/results";
import { runIsScriptAtom, runJobAtom, runModelAtom, runShareTokenAtom } from "../../state/run";
import { formatNumber } from "../../lib/format";
import { orderOutputs } from "../../lib/order";
import { STOP_SUMMARY_LABELS } from "../../lib/precision";
import { HistogramChart } from "../Charts";
import { Spinner } from "../States";

/** What a succeeded run computed: its summary, then a blocks model's distributions and plot,
 * or the images a script wrote. */
export function ResultCards() {
  const job = useAtomValue(runJobAtom);
  const model = useAtomValue(runModelAtom);
  const script = useAtomValue(runIsScriptAtom);
  if (!job) return null;
  return (
    <>
      <div className="card">
        <div className="card-head">
          <h2>Summary</h2>
        </div>
        <SummaryTable summary={job.summary} model={model} primary={job.primaryOutput} />
      </div>
      {script ? <ArtifactImages job={job} /> : <BlocksResults job={job} />}
    </>
  );
}

function BlocksResults({ job }: { job: Job }) {
  const shareToken = useAtomValue(runShareTokenAtom);
  const chart = useAtomValue(chartDataAtom(job.jobId));
  const [pngOk, setPngOk] = useState(true);
  return (
    <>
      {chart === null ? (
        <div className="card">
          <Spinner label="Loading charts" />
        </div>
      ) : chart.ok ? (
        chart.value.histograms.map((h) => (
          <div className="card" key={h.name}>
            <div className="card-head">
              <h2>Distribution: {h.label}</h2>
              {h.unit ? <span className="muted">{h.unit}</span> : null}
            </div>
            <HistogramChart hists={[h]} testId="result-chart" />
          </div>
        ))
      ) : (
        <div className="card">
          <p className="muted">Interactive charts unavailable: {chart.error.message}</p>
        </div>
      )}
      <div className="card">
        <div className="card-head">
          <h2>Plot</h2>
          <a className="muted" href={fileUrl(job.jobId, "plot.png", true, shareToken)} target="_blank" rel="noreferrer">
            Open full size
          </a>
        </div>
        {pngOk ? (
          <img
            className="plot-png"
            src={fileUrl(job.jobId, "plot.png", true, shareToken)}
            alt={`Plot of run ${job.jobId}`}
            onError={() => setPngOk(false)}
            data-testid="plot-png"
          />
        ) : (
          <p className="muted">No plot image for this run.</p>
        )}
      </div>
    </>
  );
}

/** Every PNG a script left, shown as an image. */
function ArtifactImages({ job }: { job: Job }) {
  const shareToken = useAtomValue(runShareTokenAtom);
  // The same key as the Files card's, so the list is fetched once.
  const artifacts = useAtomValue(artifactsAtom(`${job.jobId}@${JobState[job.state]}`));
  if (artifacts === null) {
    return (
      <div className="card">
        <Spinner label="Loading images" />
      </div>
    );
  }
  if (!artifacts.ok) return null; // the Files card says why
  return (
    <>
      {artifacts.value
        .filter((a) => /\.png$/i.test(a.name))
        .map((a) => {
          const src = fileUrl(job.jobId, a.name, true, shareToken);
          return (
            <div className="card" key={a.name}>
              <div className="card-head">
                <h2 className="mono">{a.name}</h2>
                <a className="muted" href={src} target="_blank" rel="noreferrer">
                  Open full size
                </a>
              </div>
              <img className="plot-png" src={src} alt={`${a.name} of run ${job.jobId}`} data-testid="artifact-image" data-name={a.name} />
            </div>
          );
        })}
    </>
  );
}

function flatten(obj: JsonObject, prefix = ""): [string, JsonValue][] {
  const out: [string, JsonValue][] = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) out.push(...flatten(v as JsonObject, key));
    else out.push([key, v]);
  }
  return out;
}

function SummaryTable({ summary, model, primary }: { summary: JsonObject | undefined; model: Model | undefined; primary?: string }) {
  if (!summary || Object.keys(summary).length === 0) return <p className="muted">No summary.</p>;
  const flat = new Map(flatten(summary));
  const rows = orderOutputs(model, primary, [...flat.keys()]).map((k) => [k, flat.get(k)!] as const);
  return (
    <table className="table kv" data-testid="summary-table">
      <tbody>
        {rows.map(([k, v]) => {
          const out = model?.outputs.find((o) => o.name === k);
          return (
            <tr key={k} className={k === primary ? "primary" : ""}>
              <th scope="row" title={out?.help || k}>
                {out?.label || STOP_SUMMARY_LABELS[k] || k}
                {out?.unit ? <span className="muted"> ({out.unit})</span> : null}
              </th>
              <td className="mono num">{Array.isArray(v) ? v.map((x) => formatNumber(x)).join(", ") : formatNumber(v)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
