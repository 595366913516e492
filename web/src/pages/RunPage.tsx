import { useAtomValue, useSetAtom } from "jotai";
import { useEffect, useMemo, useState } from "react";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { JobState, type Job, type Model } from "../gen/simlab/v1/simulation_pb";
import { fileUrl } from "../api/client";
import { toApiError, type ApiError } from "../api/errors";
import type { Feed } from "../api/watch";
import { cancelJobAtom, jobFeedAtom } from "../state/job";
import { shareAtom } from "../state/share";
import { modelsLoadableAtom } from "../state/models";
import { artifactsAtom, chartDataAtom } from "../state/results";
import { ConvergenceChart, HistogramChart } from "../components/Charts";
import { Link } from "../components/Link";
import { LogsPanel } from "../components/LogsPanel";
import { SharePanel } from "../components/SharePanel";
import { ProgressBar } from "../components/Progress";
import { EmptyState, ErrorState, Spinner } from "../components/States";
import { StatusBadge } from "../components/StatusBadge";
import { Timeline } from "../components/Timeline";
import { orderOutputs, orderParams } from "../lib/order";
import { formatBytes, formatDuration, formatNumber, formatTime, isTerminal, shortId, toDate } from "../lib/format";
import { forgetShare, runPath } from "../lib/share";

/** A share link that stopped working (revoked or expired), or one for another run. */
function isLinkError(error: ApiError | undefined): error is ApiError {
  return error?.code === Code.Unauthenticated || error?.code === Code.PermissionDenied;
}

export function RunPage({ id }: { id: string }) {
  const feed = useAtomValue(jobFeedAtom(id));
  const models = useAtomValue(modelsLoadableAtom);
  const model = models.state === "hasData" ? models.data.find((m) => m.name === feed.job?.model) : undefined;
  const share = useAtomValue(shareAtom);
  const shareToken = share?.jobId === id ? share.token : undefined;

  if (!feed.job) {
    if (feed.connection === "ended" && shareToken && isLinkError(feed.error)) return <InvalidLinkState error={feed.error} />;
    if (feed.connection === "ended" && feed.error) {
      const notFound = feed.error.code === Code.NotFound;
      return (
        <section className="page">
          <EmptyState title={notFound ? "Run not found" : "This run cannot be shown"} action={<Link className="btn btn-secondary" to="/">Back to runs</Link>}>
            <p>
              <span className="mono">{id}</span>: {feed.error.message}
            </p>
          </EmptyState>
        </section>
      );
    }
    return (
      <section className="page">
        <ConnectionBanner feed={feed} />
        <Spinner label="Loading run" />
      </section>
    );
  }
  return <RunView job={feed.job} feed={feed} model={model} shareToken={shareToken} />;
}

/** A shared view whose link no longer works: said plainly, and the tab forgets the token. */
function InvalidLinkState({ error }: { error: ApiError }) {
  useEffect(() => forgetShare(), []);
  return (
    <section className="page" data-testid="share-invalid">
      <EmptyState title="This link is no longer valid">
        <p>The link to this run was revoked or has expired. Ask the person who shared it for a new one.</p>
        <p className="muted small-print">{error.detail || error.message}</p>
      </EmptyState>
    </section>
  );
}

function SharedBadge() {
  return (
    <span className="badge badge-info shared-badge" data-testid="shared-badge" title="Opened with a share link: you can look, not change anything">
      <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
        <path d="M8 3C4.5 3 2 8 2 8s2.5 5 6 5 6-5 6-5-2.5-5-6-5zm0 8a3 3 0 110-6 3 3 0 010 6z" fill="currentColor" />
      </svg>
      Shared read-only view
    </span>
  );
}

function ConnectionBanner({ feed }: { feed: Feed }) {
  if (feed.connection !== "reconnecting") return null;
  return (
    <div className="banner banner-warn" role="status" data-testid="reconnecting">
      <span className="spinner small" aria-hidden="true" />
      <span>
        <strong>Reconnecting…</strong> The live connection dropped
        {feed.error ? ` (${feed.error.detail || feed.error.message})` : ""}. Updates resume where they left off
        {feed.attempts > 1 ? ` · attempt ${feed.attempts}` : ""}.
      </span>
    </div>
  );
}

function RunView({ job, feed, model, shareToken }: { job: Job; feed: Feed; model: Model | undefined; shareToken: string | undefined }) {
  const readOnly = shareToken !== undefined;
  const [sharing, setSharing] = useState(false);
  const cancel = useSetAtom(cancelJobAtom);
  const [cancelError, setCancelError] = useState<ApiError | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const [copied, setCopied] = useState(false);
  const done = isTerminal(job.state);
  const active = !done;
  const output = model?.outputs.find((o) => o.name === job.primaryOutput);
  const outLabel = output?.label || job.primaryOutput || "Estimate";
  const outUnit = output?.unit ?? "";

  const onCancel = async () => {
    if (!window.confirm("Cancel this run? Work done so far is discarded.")) return;
    setCancelling(true);
    setCancelError(null);
    try {
      await cancel(job.jobId);
    } catch (err) {
      setCancelError(toApiError(err));
    } finally {
      setCancelling(false);
    }
  };

  const copyLink = async () => {
    try {
      // A shared view hands on the same link (the token may be kept by the tab only).
      await navigator.clipboard.writeText(readOnly ? `${window.location.origin}${runPath(job.jobId, shareToken)}` : window.location.href);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      /* clipboard not allowed: the URL bar still has it */
    }
  };

  const started = job.history.find((h) => h.state === JobState.RUNNING)?.at;
  const ended = done ? job.history[job.history.length - 1]?.at : undefined;
  const startMs = toDate(started)?.getTime();
  const now = useNow(active ? 1000 : 0);
  const elapsed = startMs !== undefined ? (toDate(ended)?.getTime() ?? Math.max(now, feed.lastEventAt ?? 0)) - startMs : undefined;

  return (
    <section
      className="page run-page"
      data-testid="run-page"
      data-state={JobState[job.state]}
      data-latency-ms={feed.stateLatencyMs !== undefined ? Math.round(feed.stateLatencyMs) : undefined}
    >
      {readOnly ? null : (
        <nav className="crumbs" aria-label="Breadcrumb">
          <Link to="/">Runs</Link> <span aria-hidden="true">/</span> <span className="mono">{shortId(job.jobId)}</span>
        </nav>
      )}
      <header className="page-head">
        <div className="head-main">
          <div className="head-title">
            <h1>{model?.title || job.model}</h1>
            <StatusBadge state={job.state} live={active} />
            {feed.connection === "live" && active ? <span className="live-pill" title="Streaming live updates">Live</span> : null}
            {readOnly ? <SharedBadge /> : null}
          </div>
          <div className="head-meta muted">
            <span className="mono" title="Run id">{job.jobId}</span>
            <button type="button" className="link-btn" onClick={copyLink}>
              {copied ? "Link copied" : "Copy link"}
            </button>
            <span>Submitted {formatTime(job.createdAt)}</span>
            {job.owner ? <span>by {job.owner}</span> : null}
          </div>
        </div>
        {readOnly ? null : (
          <div className="head-actions">
            <button
              type="button"
              className="btn btn-secondary"
              onClick={() => setSharing((s) => !s)}
              aria-expanded={sharing}
              data-testid="share"
            >
              Share
            </button>
            {active ? (
              <button
                type="button"
                className="btn btn-danger"
                onClick={onCancel}
                disabled={cancelling || job.state === JobState.CANCELLING}
                data-testid="cancel"
              >
                {job.state === JobState.CANCELLING ? "Cancelling…" : cancelling ? "Cancelling…" : "Cancel run"}
              </button>
            ) : null}
            {job.state === JobState.SUCCEEDED ? (
              <Link className="btn btn-secondary" to={`/compare?ids=${encodeURIComponent(job.jobId)}`}>
                Compare…
              </Link>
            ) : null}
            <Link className="btn btn-primary" to={`/new?from=${encodeURIComponent(job.jobId)}`} data-testid="run-again">
              Run again
            </Link>
          </div>
        )}
      </header>
      {sharing && !readOnly ? <SharePanel jobId={job.jobId} onClose={() => setSharing(false)} /> : null}
      {readOnly && isLinkError(feed.error) ? (
        <div className="banner banner-warn" role="alert" data-testid="share-invalid">
          <span>
            <strong>This link is no longer valid.</strong> What is shown is as it was when the link stopped working; ask the person who shared it for a new one.
          </span>
        </div>
      ) : null}
      <ConnectionBanner feed={feed} />
      {cancelError ? <ErrorState title="Could not cancel" error={cancelError} /> : null}

      <div className="run-grid">
        <div className="run-main">
          {job.state === JobState.FAILED ? (
            <>
              <FailureCard job={job} />
              <LogsPanel job={job} defaultOpen />
            </>
          ) : null}
          <div className="card">
            <div className="card-head">
              <h2>Progress</h2>
              {elapsed !== undefined ? <span className="muted">{done ? "Ran for" : "Running for"} {formatDuration(elapsed)}</span> : null}
            </div>
            <ProgressBar progress={job.progress} active={job.state === JobState.RUNNING} />
            <div className="stat-row">
              <Stat label={`${outLabel}${outUnit ? ` (${outUnit})` : ""}`} value={job.progress?.estimate} testId="estimate" />
              <Stat label="Standard error" value={job.progress?.stderr} />
              <Stat
                label="Relative error"
                value={
                  job.progress?.estimate !== undefined && job.progress.stderr !== undefined && job.progress.estimate !== 0
                    ? Math.abs(job.progress.stderr / job.progress.estimate)
                    : undefined
                }
                percent
              />
            </div>
          </div>
          <ConvergenceCard job={job} feed={feed} label={outLabel} unit={outUnit} />
          {job.state === JobState.SUCCEEDED ? <ResultCards job={job} model={model} shareToken={shareToken} /> : null}
          {done ? <DownloadsCard job={job} shareToken={shareToken} /> : null}
          {job.state !== JobState.FAILED ? <LogsPanel job={job} /> : null}
        </div>
        <aside className="run-side">
          <div className="card">
            <h2>Timeline</h2>
            <Timeline history={job.history} />
          </div>
          <ParamsCard job={job} model={model} />
        </aside>
      </div>
    </section>
  );
}

/** The current time, re-read every `ms` (0: never). */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ms) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

function Stat({ label, value, testId, percent = false }: { label: string; value: number | undefined; testId?: string; percent?: boolean }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value mono" data-testid={testId}>
        {value === undefined ? "—" : percent ? `${(value * 100).toPrecision(3)}%` : formatNumber(value)}
      </div>
    </div>
  );
}

function ConvergenceCard({ job, feed, label, unit }: { job: Job; feed: Feed; label: string; unit: string }) {
  const done = isTerminal(job.state);
  const chart = useAtomValue(chartDataAtom(job.state === JobState.SUCCEEDED ? job.jobId : ""));
  const useFinal = job.state === JobState.SUCCEEDED && chart?.ok && chart.value.convergence;
  const series = useMemo(() => {
    if (useFinal && chart?.ok && chart.value.convergence) {
      const c = chart.value.convergence;
      if (c.samples.length >= feed.points.length) {
        return [
          {
            name: label,
            points: c.samples.map((s, i) => ({
              seq: BigInt(i),
              samples: s,
              estimate: c.estimate[i] ?? NaN,
              ...(c.stderr[i] !== undefined ? { stderr: c.stderr[i] } : {}),
            })),
          },
        ];
      }
    }
    return [{ name: label, points: feed.points }];
  }, [useFinal, chart, feed.points, label]);
  const conv = chart?.ok ? chart.value.convergence : undefined;
  const empty = series[0]!.points.length === 0;
  if (empty && done) return null;
  return (
    <div className="card">
      <div className="card-head">
        <h2>Convergence</h2>
        <span className="muted">
          {label} ± 1 standard error against samples{!done && feed.connection === "live" ? " · streaming" : ""}
        </span>
      </div>
      {empty ? (
        <div className="chart-empty" data-testid="convergence-empty">
          {done ? "No progress was recorded for this run." : "Waiting for the first block to finish…"}
        </div>
      ) : (
        <ConvergenceChart
          series={series}
          label={conv?.label || label}
          unit={conv?.unit || unit}
          {...(conv?.reference !== undefined ? { reference: conv.reference } : {})}
          {...(conv?.referenceLabel ? { referenceLabel: conv.referenceLabel } : {})}
        />
      )}
    </div>
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

export function SummaryTable({ summary, model, primary }: { summary: JsonObject | undefined; model: Model | undefined; primary?: string }) {
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
                {out?.label || k}
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

function ResultCards({ job, model, shareToken }: { job: Job; model: Model | undefined; shareToken: string | undefined }) {
  const chart = useAtomValue(chartDataAtom(job.jobId));
  const [pngOk, setPngOk] = useState(true);
  return (
    <>
      <div className="card">
        <div className="card-head">
          <h2>Summary</h2>
        </div>
        <SummaryTable summary={job.summary} model={model} primary={job.primaryOutput} />
      </div>
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

function DownloadsCard({ job, shareToken }: { job: Job; shareToken: string | undefined }) {
  const artifacts = useAtomValue(artifactsAtom(`${job.jobId}@${JobState[job.state]}`));
  return (
    <div className="card">
      <div className="card-head">
        <h2>Files</h2>
      </div>
      {artifacts === null ? (
        <Spinner label="Loading files" />
      ) : !artifacts.ok ? (
        <p className="muted">Files unavailable: {artifacts.error.message}</p>
      ) : artifacts.value.length === 0 ? (
        <p className="muted">This run left no files.</p>
      ) : (
        <ul className="files" data-testid="downloads">
          {artifacts.value.map((a) => (
            <li key={a.name}>
              <a href={fileUrl(job.jobId, a.name, false, shareToken)} download={a.name} data-testid={`download-${a.name}`}>
                <FileIcon name={a.name} />
                <span className="file-name">{a.name}</span>
              </a>
              <span className="muted">{formatBytes(a.size)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function FileIcon({ name }: { name: string }) {
  const ext = name.split(".").pop()?.toUpperCase() ?? "";
  return <span className={`file-ext ext-${ext.toLowerCase()}`}>{ext.slice(0, 4)}</span>;
}

function FailureCard({ job }: { job: Job }) {
  const e = job.error;
  return (
    <div className="card failure" role="alert" data-testid="failure">
      <h2>Run failed</h2>
      <p className="failure-msg">{e?.message || "The run failed without a message."}</p>
      {e?.source ? <p className="muted">Source: {e.source}</p> : null}
      {e?.traceback ? (
        <details open>
          <summary>Traceback</summary>
          <pre className="code" data-testid="traceback">{e.traceback}</pre>
        </details>
      ) : null}
      {e?.logTail ? (
        <details>
          <summary>Worker log (last lines)</summary>
          <pre className="code">{e.logTail}</pre>
        </details>
      ) : null}
    </div>
  );
}

function ParamsCard({ job, model }: { job: Job; model: Model | undefined }) {
  const given = job.parameters ?? {};
  // The model's order (as on the form), then anything the model no longer declares.
  const params = Object.fromEntries(orderParams(model, Object.keys(given)).map((k) => [k, given[k]!]));
  return (
    <div className="card">
      <h2>Parameters</h2>
      <table className="table kv" data-testid="params-table">
        <tbody>
          {Object.entries(params).map(([k, v]) => {
            const p = model?.parameters.find((x) => x.name === k);
            return (
              <tr key={k}>
                <th scope="row" title={p?.help || k}>{p?.label || k}</th>
                <td className="mono num">
                  {formatNumber(v)}
                  {p?.unit ? <span className="muted"> {p.unit}</span> : null}
                </td>
              </tr>
            );
          })}
          <tr>
            <th scope="row">Seed</th>
            <td className="mono num">{job.seed.toString()}</td>
          </tr>
          <tr>
            <th scope="row">Shards</th>
            <td className="mono num">{job.shards}</td>
          </tr>
          {job.blockSize > 0n ? (
            <tr>
              <th scope="row">Block size</th>
              <td className="mono num">{formatNumber(Number(job.blockSize))}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
