import { useAtomValue } from "jotai";
import { useId, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { Job } from "../gen/simlab/v1/simulation_pb";
import type { LogLine, Logs } from "../api/logs";
import { isTerminal } from "../lib/format";
import { logsFeedAtom } from "../state/logs";

/** The workers' output (TailLogs): collapsible; the stream opens only while it is open. */
export function LogsPanel({ job, defaultOpen = false }: { job: Job; defaultOpen?: boolean }) {
  const [open, setOpen] = useState(defaultOpen);
  const bodyId = useId();
  return (
    <section className="card logs-card" data-testid="logs" data-open={open ? "true" : "false"}>
      <div className="card-head">
        <h2>
          <button type="button" className="disclosure" aria-expanded={open} aria-controls={bodyId} onClick={() => setOpen((o) => !o)} data-testid="logs-toggle">
            <span className="chevron" aria-hidden="true" />
            Logs
          </button>
        </h2>
        {!open ? <span className="muted">{isTerminal(job.state) ? "The workers' output" : "The workers' output, live"}</span> : null}
      </div>
      {open ? <LogsBody id={bodyId} job={job} /> : null}
    </section>
  );
}

function visibleLines(logs: Logs, shard: number | null): LogLine[] {
  const partial = Object.entries(logs.partial)
    .filter(([s, t]) => t && (shard === null || Number(s) === shard))
    .map(([s, t], i) => ({ n: logs.count + i, shard: Number(s), text: t }));
  const lines = shard === null ? logs.lines : logs.lines.filter((l) => l.shard === shard);
  return partial.length ? lines.concat(partial) : lines;
}

function LogsBody({ id, job }: { id: string; job: Job }) {
  const logs = useAtomValue(logsFeedAtom(job.jobId));
  const [shard, setShard] = useState<number | null>(null);
  const [follow, setFollow] = useState(true);
  const view = useRef<HTMLDivElement>(null);
  const lines = useMemo(() => visibleLines(logs, shard), [logs, shard]);
  const multi = job.shards > 1;
  const done = isTerminal(job.state);

  // Keep the newest line in sight while following.
  useLayoutEffect(() => {
    const el = view.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  }, [lines, follow]);

  const onScroll = () => {
    const el = view.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    if (atBottom !== follow) setFollow(atBottom);
  };

  const status =
    logs.connection === "live" && !done
      ? "streaming"
      : logs.connection === "reconnecting"
        ? `reconnecting${logs.error ? ` (${logs.error.detail || logs.error.message})` : ""}…`
        : logs.connection === "connecting"
          ? "connecting…"
          : null;
  const shown = logs.lines.length + Object.keys(logs.partial).length;

  return (
    <div id={id} className="logs-body">
      <div className="logs-toolbar">
        {multi ? (
          <select
            className="input narrow-sm"
            aria-label="Shard"
            value={shard === null ? "" : String(shard)}
            onChange={(e) => setShard(e.target.value === "" ? null : Number(e.target.value))}
            data-testid="logs-shard"
          >
            <option value="">All shards</option>
            {Array.from({ length: job.shards }, (_, i) => (
              <option key={i} value={i}>
                Shard {i}
              </option>
            ))}
          </select>
        ) : null}
        <label className="check small">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} data-testid="logs-follow" />
          Follow
        </label>
        <span className="muted logs-status" data-testid="logs-status" data-connection={logs.connection}>
          {shown} line{shown === 1 ? "" : "s"}
          {logs.dropped ? ` (the first ${logs.dropped.toLocaleString()} not kept)` : ""}
          {status ? ` · ${status}` : ""}
        </span>
      </div>
      {logs.connection === "ended" && logs.error ? (
        <p className="muted" role="status">
          Logs unavailable: {logs.error.message}
        </p>
      ) : null}
      <div className="logs-view" ref={view} onScroll={onScroll} role="log" aria-live="off" aria-label="Worker output" tabIndex={0} data-testid="logs-view">
        {lines.length === 0 ? (
          <div className="logs-empty">
            {logs.connection === "ended" ? (logs.error ? "" : "The workers printed nothing.") : done ? "Loading the stored output…" : "Waiting for output…"}
          </div>
        ) : (
          lines.map((l) => (
            <div className="log-line" key={l.n} data-shard={l.shard}>
              {multi ? <span className="log-shard">[{l.shard}]</span> : null}
              {l.text || "\u00a0"}
            </div>
          ))
        )}
      </div>
    </div>
  );
}
