// Live feeds of jobs: the job, its convergence points and the connection, per job id.
import { atom } from "jotai";
import { emptyFeed, followJob, type Feed } from "../api/watch";
import type { ExtendRequest } from "../lib/extend";
import { clientAtom } from "./client";
import { liveFeedFamily } from "./feed";

/** The live state of one job: job, convergence points, connection ("reconnecting"...). */
export const jobFeedAtom = liveFeedFamily<Feed>((jobId) => ({
  initial: emptyFeed,
  starting: (f) => ({ ...f, connection: f.job ? "reconnecting" : "connecting" }),
  follow: (client, update, signal) => followJob(client, jobId, update, signal),
}));

/** Forget cached feeds (tests). */
export const resetJobFeeds = (): void => jobFeedAtom.clear();

/** Cancel a job; the feed shows the resulting state changes. */
export const cancelJobAtom = atom(null, async (get, _set, jobId: string) => {
  return get(clientAtom).cancelJob({ jobId });
});

/** Add samples to a finished run: a new run that reuses its blocks (the response's job). */
export const extendJobAtom = atom(null, async (get, _set, request: ExtendRequest) => {
  return get(clientAtom).extendJob(request);
});
