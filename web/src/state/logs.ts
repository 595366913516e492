// Live logs of jobs: the workers' output per job id, opened while the Logs panel shows it.
// What was received is kept (with its cursor), so reopening the panel resumes where it
// stopped instead of starting over.
import { emptyLogs, followLogs, LogCursor, type Logs } from "../api/logs";
import { liveFeedFamily } from "./feed";

/** The workers' output of one job, live while it runs. */
export const logsFeedAtom = liveFeedFamily<Logs>((jobId) => {
  const cursor = new LogCursor();
  return {
    initial: emptyLogs,
    // A complete log is not fetched again.
    starting: (l) => (l.connection === "ended" && !l.error ? null : { ...l, connection: l.count ? "reconnecting" : "connecting" }),
    follow: (client, update, signal) => followLogs(client, jobId, cursor, update, signal),
  };
});

/** Forget cached feeds (tests). */
export const resetLogFeeds = (): void => logsFeedAtom.clear();
