// Live feeds of jobs: one per job id, opened when a component first reads it (onMount) and
// closed when the last one unmounts.
import { atom, type Atom } from "jotai";
import { emptyFeed, followJob, type Feed } from "../api/watch";
import { clientAtom } from "./client";

type FeedAction = { type: "start" } | { type: "stop" };

function createFeedAtom(jobId: string): Atom<Feed> {
  const feedPrimAtom = atom<Feed>(emptyFeed);
  let controller: AbortController | null = null;
  const controlAtom = atom(
    (get) => get(feedPrimAtom),
    (get, set, action: FeedAction) => {
      controller?.abort();
      controller = null;
      if (action.type === "stop") return;
      const c = new AbortController();
      controller = c;
      set(feedPrimAtom, (f) => ({ ...f, connection: f.job ? "reconnecting" : "connecting" }));
      void followJob(get(clientAtom), jobId, (fn) => set(feedPrimAtom, fn), c.signal);
    },
  );
  controlAtom.onMount = (dispatch) => {
    dispatch({ type: "start" });
    return () => dispatch({ type: "stop" });
  };
  return controlAtom;
}

const feeds = new Map<string, Atom<Feed>>();

/** The live state of one job: job, convergence points, connection ("reconnecting"...). */
export function jobFeedAtom(jobId: string): Atom<Feed> {
  let a = feeds.get(jobId);
  if (!a) {
    a = createFeedAtom(jobId);
    feeds.set(jobId, a);
  }
  return a;
}

/** Forget cached feeds (tests). */
export function resetJobFeeds(): void {
  feeds.clear();
}

/** Cancel a job; the feed shows the resulting state changes. */
export const cancelJobAtom = atom(null, async (get, _set, jobId: string) => {
  return get(clientAtom).cancelJob({ jobId });
});
