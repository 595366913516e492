// Live logs of jobs: one feed per job id, opened when the Logs panel first reads it (onMount)
// and closed when it unmounts. What was received is kept, so reopening the panel resumes
// where it stopped instead of starting over.
import { atom, type Atom } from "jotai";
import { emptyLogs, followLogs, LogCursor, type Logs } from "../api/logs";
import { clientAtom } from "./client";

type LogsAction = { type: "start" } | { type: "stop" };

function createLogsAtom(jobId: string): Atom<Logs> {
  const logsPrimAtom = atom<Logs>(emptyLogs);
  const cursor = new LogCursor();
  let controller: AbortController | null = null;
  const controlAtom = atom(
    (get) => get(logsPrimAtom),
    (get, set, action: LogsAction) => {
      controller?.abort();
      controller = null;
      if (action.type === "stop") return;
      const now = get(logsPrimAtom);
      if (now.connection === "ended" && !now.error) return; // complete already
      const c = new AbortController();
      controller = c;
      set(logsPrimAtom, (l) => ({ ...l, connection: l.count ? "reconnecting" : "connecting" }));
      void followLogs(get(clientAtom), jobId, cursor, (fn) => set(logsPrimAtom, fn), c.signal);
    },
  );
  controlAtom.onMount = (dispatch) => {
    dispatch({ type: "start" });
    return () => dispatch({ type: "stop" });
  };
  return controlAtom;
}

const feeds = new Map<string, Atom<Logs>>();

/** The workers' output of one job, live while it runs. */
export function logsFeedAtom(jobId: string): Atom<Logs> {
  let a = feeds.get(jobId);
  if (!a) {
    a = createLogsAtom(jobId);
    feeds.set(jobId, a);
  }
  return a;
}

/** Forget cached feeds (tests). */
export function resetLogFeeds(): void {
  feeds.clear();
}
