// Follows one study: a single WatchStudy stream (snapshot pages with every point, then the
// points that changed, about once a second) however many points it has. Events are merged
// into a buffer and handed on at most once per `flushMs`, so a 10,000-point study redraws
// its chart and table about once a second however the events arrive. Reconnects after a
// drop: the new stream's snapshot brings every point again and merging by seq keeps the
// newest of each. Pure of React and Jotai.
import { Code, ConnectError } from "@connectrpc/connect";
import { StudyState, type Study, type StudyPoint } from "../gen/simlab/v1/simulation_pb";
import { mergePoints, type PointSlots } from "../lib/study/points";
import type { Backoff, Sleep } from "../lib/retry";
import type { SimulationClient } from "./client";
import type { ApiError } from "./errors";
import { FINAL, OFFLINE, reconnecting, type Connection } from "./watch";

export interface StudyFeed {
  study?: Study;
  /** Every point seen, by index. */
  points: PointSlots;
  connection: Connection;
  /** The last error: a drop while reconnecting, or why the feed ended. */
  error?: ApiError;
  /** Reconnect attempts since the stream was last healthy. */
  attempts: number;
  /** Wall-clock ms of the last change handed on. */
  updatedAt?: number;
}

export const emptyStudyFeed: StudyFeed = { points: [], connection: "connecting", attempts: 0 };

export function isStudyEnded(state: StudyState | undefined): boolean {
  return state === StudyState.SUCCEEDED || state === StudyState.FAILED || state === StudyState.CANCELLED;
}

/** How often a study page takes in what its stream brought. */
export const STUDY_FLUSH_MS = 1000;

export interface FollowStudyOptions {
  flushMs?: number;
  backoff?: Backoff;
  sleep?: Sleep;
}

/** Runs until the study has ended, cannot be watched, or `signal` aborts. */
export async function followStudy(
  client: SimulationClient,
  studyId: string,
  update: (fn: (f: StudyFeed) => StudyFeed) => void,
  signal: AbortSignal,
  opts: FollowStudyOptions = {},
): Promise<void> {
  const flushMs = opts.flushMs ?? STUDY_FLUSH_MS;
  // What arrived since the last hand-on.
  let study: Study | undefined;
  let points: StudyPoint[] = [];
  let lastFlush = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    lastFlush = Date.now();
    if (!study && points.length === 0) return;
    const s = study;
    const ps = points;
    study = undefined;
    points = [];
    update((f) => {
      const merged = mergePoints(f.points, ps);
      const { error: _dropped, ...rest } = f;
      return { ...rest, ...(s ? { study: s } : {}), points: merged, connection: "live", attempts: 0, updatedAt: lastFlush };
    });
  };
  const schedule = () => {
    const wait = lastFlush + flushMs - Date.now();
    if (wait <= 0) flush();
    else timer ??= setTimeout(flush, wait);
  };
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });

  const watchOnce = async (attempt: AbortSignal, healthy: () => void): Promise<void> => {
    let ended = false;
    let first = true;
    for await (const ev of client.watchStudy({ studyId }, { signal: attempt })) {
      if (first) {
        first = false;
        healthy();
      }
      if (ev.study) {
        study = ev.study;
        ended = isStudyEnded(ev.study.state);
      }
      points.push(...ev.points);
      schedule();
    }
    if (signal.aborted) return;
    if (ended) {
      flush();
      update((f) => ({ ...f, connection: "ended" }));
      return;
    }
    // The server closed the stream of a study that is still going: resume.
    throw new ConnectError("stream closed by the server", Code.Unavailable);
  };

  await reconnecting(watchOnce, signal, {
    backoff: opts.backoff,
    sleep: opts.sleep,
    final: FINAL,
    onFinal: (e) => {
      flush();
      update((f) => ({ ...f, connection: "ended", error: e }));
    },
    onRetry: (e, failures, offline) => {
      // What arrived before the drop is kept.
      flush();
      update((f) => ({ ...f, connection: "reconnecting", error: offline ? OFFLINE : e, attempts: failures }));
    },
  });
}
