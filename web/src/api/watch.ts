// Follows one job: WatchJob (a snapshot, then ordered events), the progress history for the
// convergence chart, and reconnection with after_seq after a drop. Pure of React and Jotai so
// it can be tested against a fake client.
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { EventKind, type Job, type ProgressPoint } from "../gen/simlab/v1/simulation_pb";
import { isTerminal } from "../lib/format";
import { abortableSleep, retry, type Backoff, type Sleep } from "../lib/retry";
import type { SimulationClient } from "./client";
import { toApiError, type ApiError } from "./errors";

export type Connection = "connecting" | "live" | "reconnecting" | "ended";

/** One point of the convergence chart. */
export interface Point {
  seq: bigint;
  samples: number;
  estimate: number;
  stderr?: number;
}

export interface Feed {
  job?: Job;
  points: Point[];
  connection: Connection;
  /** The last error: a drop while reconnecting, or why the feed ended. */
  error?: ApiError;
  /** Reconnect attempts since the stream was last healthy. */
  attempts: number;
  /** Wall-clock ms of the last event, for latency measurement and "updated" hints. */
  lastEventAt?: number;
  /** Browser clock minus the job's updated_at at the last state change: how long a change
   * in jobstore took to reach this page (meaningful when both clocks agree). */
  stateLatencyMs?: number;
}

export const emptyFeed: Feed = { points: [], connection: "connecting", attempts: 0 };

export interface FollowOptions {
  history?: boolean;
  /** Delay before reconnect attempt n (1-based). */
  backoff?: Backoff;
  sleep?: Sleep;
}

/**
 * Ties a reconnecting stream to the browser's connectivity, which the browser knows before
 * TCP does: going offline drops the current attempt at once, coming back online ends the
 * backoff wait at once; the caller's `signal` aborting does both.
 */
export class Connectivity {
  private attempt: AbortController | null = null;
  private wake: AbortController | null = null;
  private readonly win = typeof window !== "undefined" ? window : undefined;
  private readonly onOffline = () => this.attempt?.abort();
  private readonly onOnline = () => this.wake?.abort();
  private readonly onAbort = () => {
    this.attempt?.abort();
    this.wake?.abort();
  };

  constructor(private readonly signal: AbortSignal) {
    this.win?.addEventListener("offline", this.onOffline);
    this.win?.addEventListener("online", this.onOnline);
    signal.addEventListener("abort", this.onAbort, { once: true });
  }

  get offline(): boolean {
    return this.win?.navigator?.onLine === false;
  }

  /** The signal of a new connection attempt. */
  newAttempt(): AbortSignal {
    this.attempt = new AbortController();
    return this.attempt.signal;
  }

  /** Waits `ms` before the next attempt, unless the browser comes back online first. */
  async pause(ms: number, sleep: Sleep): Promise<void> {
    this.wake = new AbortController();
    await sleep(ms, this.wake.signal);
    this.wake = null;
  }

  close(): void {
    this.win?.removeEventListener("offline", this.onOffline);
    this.win?.removeEventListener("online", this.onOnline);
    this.signal.removeEventListener("abort", this.onAbort);
  }
}

export interface ReconnectOptions {
  backoff?: Backoff;
  sleep?: Sleep;
  /** Errors that another try would not fix. */
  final: ReadonlySet<Code>;
  /** After such an error: the retrying has stopped. */
  onFinal: (e: ApiError) => void;
  /** After another error: the next try follows the backoff. */
  onRetry: (e: ApiError, failures: number, offline: boolean) => void;
}

/**
 * A live stream's reconnect loop (the policy of lib/retry), each try tied to the browser's
 * connectivity: runs `tryOnce` with the attempt's signal until it returns, a final error, or
 * `signal` aborts.
 */
export async function reconnecting(
  tryOnce: (attempt: AbortSignal, healthy: () => void) => Promise<void>,
  signal: AbortSignal,
  opts: ReconnectOptions,
): Promise<void> {
  const sleep = opts.sleep ?? abortableSleep;
  const net = new Connectivity(signal);
  try {
    await retry(
      async (healthy) => {
        const attempt = net.newAttempt();
        if (net.offline) throw new ConnectError("the browser is offline", Code.Unavailable);
        await tryOnce(attempt, healthy);
      },
      {
        signal,
        backoff: opts.backoff,
        sleep: (ms) => net.pause(ms, sleep),
        onError: (err, failures) => {
          const e = toApiError(err);
          if (e.code !== undefined && opts.final.has(e.code)) {
            opts.onFinal(e);
            return "stop";
          }
          opts.onRetry(e, failures, net.offline);
          return "retry";
        },
      },
    );
  } finally {
    net.close();
  }
}

/** Errors that another try would not fix. */
export const FINAL = new Set([Code.NotFound, Code.PermissionDenied, Code.Unauthenticated, Code.InvalidArgument]);

/** What a feed shows while the browser is offline. */
export const OFFLINE: ApiError = { code: Code.Unavailable, message: "You are offline", detail: "you are offline" };

export function mergePoints(a: Point[], b: Point[]): Point[] {
  if (b.length === 0) return a;
  const bySeq = new Map<bigint, Point>();
  for (const p of a) bySeq.set(p.seq, p);
  for (const p of b) bySeq.set(p.seq, p);
  return [...bySeq.values()].sort((x, y) => (x.seq < y.seq ? -1 : x.seq > y.seq ? 1 : 0));
}

export function pointOfHistory(p: ProgressPoint): Point | undefined {
  if (p.estimate === undefined) return undefined;
  return {
    seq: p.seq,
    samples: Number(p.samplesDone),
    estimate: p.estimate,
    ...(p.stderr !== undefined ? { stderr: p.stderr } : {}),
  };
}

export function pointOfJob(seq: bigint, job: Job): Point | undefined {
  const pr = job.progress;
  if (!pr || pr.estimate === undefined || pr.samplesDone === 0n) return undefined;
  return {
    seq,
    samples: Number(pr.samplesDone),
    estimate: pr.estimate,
    ...(pr.stderr !== undefined ? { stderr: pr.stderr } : {}),
  };
}

/** Runs until the job ends, the job is not found, or `signal` aborts. */
export async function followJob(
  client: SimulationClient,
  jobId: string,
  update: (fn: (f: Feed) => Feed) => void,
  signal: AbortSignal,
  opts: FollowOptions = {},
): Promise<void> {
  const wantHistory = opts.history ?? true;
  let lastSeq = 0n;

  const loadHistory = async () => {
    try {
      const h = await client.getProgressHistory({ jobId }, { signal });
      const pts = h.points.map(pointOfHistory).filter((p): p is Point => p !== undefined);
      update((f) => ({ ...f, points: mergePoints(f.points, pts) }));
    } catch (err) {
      if (signal.aborted) return;
      // The chart then starts from the live events only; the page stays usable.
      console.warn("progress history unavailable", err);
    }
  };

  const watchOnce = async (attempt: AbortSignal, healthy: () => void): Promise<void> => {
    let terminal = false;
    const stream = client.watchJob({ jobId, afterSeq: lastSeq }, { signal: attempt });
    let first = true;
    for await (const ev of stream) {
      if (first) {
        first = false;
        healthy();
        if (wantHistory) void loadHistory();
      }
      if (ev.seq <= lastSeq && ev.kind !== EventKind.SNAPSHOT) continue;
      const job = ev.job;
      if (ev.seq > lastSeq) lastSeq = ev.seq;
      if (job) terminal = isTerminal(job.state);
      const now = Date.now();
      const updated = job?.updatedAt ? timestampMs(job.updatedAt) : undefined;
      const latency = ev.kind === EventKind.STATE && updated !== undefined ? now - updated : undefined;
      update((f) => {
        const newer = job && (!f.job || job.seq >= f.job.seq) ? job : f.job;
        const pt = job ? pointOfJob(ev.seq, job) : undefined;
        const { error: _dropped, ...rest } = f;
        return {
          ...rest,
          ...(newer ? { job: newer } : {}),
          points: pt ? mergePoints(f.points, [pt]) : f.points,
          connection: "live",
          attempts: 0,
          lastEventAt: now,
          ...(latency !== undefined ? { stateLatencyMs: latency } : f.stateLatencyMs !== undefined ? { stateLatencyMs: f.stateLatencyMs } : {}),
        };
      });
    }
    if (terminal || signal.aborted) {
      if (!signal.aborted) update((f) => ({ ...f, connection: "ended" }));
      if (terminal && wantHistory) await loadHistory();
      return;
    }
    // The server closed a stream of a job that is still going: resume.
    throw new ConnectError("stream closed by the server", Code.Unavailable);
  };

  await reconnecting(watchOnce, signal, {
    backoff: opts.backoff,
    sleep: opts.sleep,
    final: FINAL,
    onFinal: (e) => update((f) => ({ ...f, connection: "ended", error: e })),
    onRetry: (e, failures, offline) => {
      update((f) => ({ ...f, connection: "reconnecting", error: offline ? OFFLINE : e, attempts: failures }));
    },
  });
}
