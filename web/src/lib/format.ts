import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { JobState } from "../gen/simlab/v1/simulation_pb";

export const TERMINAL = new Set([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED]);
export const ACTIVE = new Set([
  JobState.QUEUED,
  JobState.LAUNCHING,
  JobState.RUNNING,
  JobState.CANCELLING,
]);

export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state);
}

const LABELS: Record<JobState, string> = {
  [JobState.UNSPECIFIED]: "Unknown",
  [JobState.QUEUED]: "Queued",
  [JobState.LAUNCHING]: "Launching",
  [JobState.RUNNING]: "Running",
  [JobState.CANCELLING]: "Cancelling",
  [JobState.SUCCEEDED]: "Succeeded",
  [JobState.FAILED]: "Failed",
  [JobState.CANCELLED]: "Cancelled",
};

export function stateLabel(state: JobState): string {
  return LABELS[state] ?? "Unknown";
}

export const FILTERABLE_STATES: JobState[] = [
  JobState.QUEUED,
  JobState.LAUNCHING,
  JobState.RUNNING,
  JobState.CANCELLING,
  JobState.SUCCEEDED,
  JobState.FAILED,
  JobState.CANCELLED,
];

export function toDate(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined;
}

export function formatTime(ts: Timestamp | undefined): string {
  const d = toDate(ts);
  if (!d) return "—";
  return d.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** Time of day for today's timestamps, date and time otherwise. */
export function formatClock(ts: Timestamp | undefined): string {
  const d = toDate(ts);
  if (!d) return "—";
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : formatTime(ts);
}

export function formatRelative(ts: Timestamp | undefined, now: number = Date.now()): string {
  const d = toDate(ts);
  if (!d) return "—";
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric", year: "numeric" });
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const s = ms / 1000;
  if (s < 1) return `${Math.round(ms)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s - m * 60)}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m - h * 60}m`;
}

/** A number as an analyst reads it: 6 significant digits, thin exponents for tiny/huge. */
export function formatNumber(x: unknown): string {
  if (typeof x === "bigint") return x.toLocaleString("en-US");
  if (typeof x !== "number") return x === undefined || x === null ? "—" : String(x);
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return x.toLocaleString("en-US");
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e9)) return x.toExponential(4);
  return x.toLocaleString("en-US", { maximumSignificantDigits: 6 });
}

export function formatCount(x: bigint | number): string {
  const n = typeof x === "bigint" ? Number(x) : x;
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 0 : 1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return n.toLocaleString("en-US");
}

export function formatBytes(n: bigint | number): string {
  const b = typeof n === "bigint" ? Number(n) : n;
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KB`;
  return `${(b / 1024 / 1024).toFixed(1)} MB`;
}

export function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 8) : id;
}
