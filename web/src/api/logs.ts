// Follows the workers' output of one job (TailLogs with follow): what they printed so far,
// then each new piece until the job ends; the stored logs of a finished job. A dropped
// stream is reopened; the server then replays each shard from its start, so the bytes
// already shown are skipped. Pure of React and Jotai so it can be tested with a fake client.
import { Code, ConnectError } from "@connectrpc/connect";
import { isTerminal } from "../lib/format";
import type { SimulationClient } from "./client";
import type { ApiError } from "./errors";
import type { Backoff, Sleep } from "../lib/retry";
import { reconnecting, type Connection } from "./watch";

/** Lines kept in memory (the oldest are dropped beyond it). */
export const MAX_LOG_LINES = 5000;

export interface LogLine {
  /** Position in the whole log (stable across trimming): a React key. */
  n: number;
  shard: number;
  text: string;
}

export interface Logs {
  lines: LogLine[];
  /** Per shard, the last line while it has no newline yet. */
  partial: Record<number, string>;
  /** Lines dropped from the front to stay within MAX_LOG_LINES. */
  dropped: number;
  /** Lines ever seen (the next line's n). */
  count: number;
  connection: Connection;
  error?: ApiError;
  attempts: number;
}

export const emptyLogs: Logs = { lines: [], partial: {}, dropped: 0, count: 0, connection: "connecting", attempts: 0 };

/** Adds decoded text of one shard: complete lines to `lines`, the rest to `partial`. */
export function appendText(logs: Logs, shard: number, text: string, max = MAX_LOG_LINES): Logs {
  if (!text) return logs;
  const parts = ((logs.partial[shard] ?? "") + text).split("\n");
  const rest = parts.pop() ?? "";
  let count = logs.count;
  const added = parts.map((t) => ({ n: count++, shard, text: t.endsWith("\r") ? t.slice(0, -1) : t }));
  let lines = added.length ? logs.lines.concat(added) : logs.lines;
  let dropped = logs.dropped;
  if (lines.length > max) {
    dropped += lines.length - max;
    lines = lines.slice(lines.length - max);
  }
  const partial = { ...logs.partial };
  if (rest) partial[shard] = rest;
  else delete partial[shard];
  return { ...logs, lines, partial, dropped, count };
}

/** The unfinished last lines become lines (the log is complete). */
export function flushPartial(logs: Logs, max = MAX_LOG_LINES): Logs {
  let out: Logs = { ...logs, partial: {} };
  for (const [shard, text] of Object.entries(logs.partial)) if (text) out = appendText(out, Number(shard), `${text}\n`, max);
  return out;
}

/** What has been received of each shard, across reconnects: decodes UTF-8 split between
 * chunks and skips what a reopened stream replays. */
export class LogCursor {
  private seen = new Map<number, number>();
  private got = new Map<number, number>();
  private decoders = new Map<number, TextDecoder>();

  /** A new stream begins (from each shard's first byte). */
  restart(): void {
    this.got.clear();
  }

  /** The new text of a chunk ("" when all of it was shown already). */
  accept(shard: number, data: Uint8Array): string {
    const start = this.got.get(shard) ?? 0;
    const end = start + data.length;
    this.got.set(shard, end);
    const seen = this.seen.get(shard) ?? 0;
    if (end <= seen) return "";
    const fresh = seen > start ? data.subarray(seen - start) : data;
    this.seen.set(shard, end);
    let d = this.decoders.get(shard);
    if (!d) {
      d = new TextDecoder("utf-8");
      this.decoders.set(shard, d);
    }
    return d.decode(fresh, { stream: true });
  }
}

export interface FollowLogsOptions {
  backoff?: Backoff;
  sleep?: Sleep;
}

/** Errors that another try would not fix. */
const FINAL = new Set([Code.NotFound, Code.PermissionDenied, Code.Unauthenticated, Code.InvalidArgument, Code.Unimplemented]);

/** Runs until the job's log is complete, a final error, or `signal` aborts. */
export async function followLogs(
  client: SimulationClient,
  jobId: string,
  cursor: LogCursor,
  update: (fn: (l: Logs) => Logs) => void,
  signal: AbortSignal,
  opts: FollowLogsOptions = {},
): Promise<void> {
  const tailOnce = async (attempt: AbortSignal, healthy: () => void): Promise<void> => {
    cursor.restart();
    for await (const chunk of client.tailLogs({ jobId, follow: true }, { signal: attempt })) {
      const text = cursor.accept(chunk.shard, chunk.data);
      healthy();
      update((l) => {
        const { error: _dropped, ...rest } = appendText(l, chunk.shard, text);
        return { ...rest, connection: "live", attempts: 0 };
      });
    }
    // The server ends a followed log when the job ends; a stream closed earlier (a
    // restarting gateway) is picked up again.
    const job = await client.getJob({ jobId }, { signal: attempt });
    if (isTerminal(job.state)) {
      update((l) => {
        const { error: _dropped, ...rest } = flushPartial(l);
        return { ...rest, connection: "ended", attempts: 0 };
      });
      return;
    }
    throw new ConnectError("the log stream closed while the job runs", Code.Unavailable);
  };
  await reconnecting(tailOnce, signal, {
    backoff: opts.backoff,
    sleep: opts.sleep,
    final: FINAL,
    onFinal: (e) => update((l) => ({ ...l, connection: "ended", error: e })),
    onRetry: (e, failures) => update((l) => ({ ...l, connection: "reconnecting", error: e, attempts: failures })),
  });
}
