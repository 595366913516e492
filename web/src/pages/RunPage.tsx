import { useAtomValue } from "jotai";
import { Code } from "@connectrpc/connect";
import { JobState } from "../gen/simlab/v1/simulation_pb";
import { runFeedAtom, runIdAtom, runJobAtom, runShareTokenAtom } from "../state/run";
import { Link } from "../components/Link";
import { LogsPanel } from "../components/LogsPanel";
import { InvalidShareLink } from "../components/InvalidShareLink";
import { EmptyState, Spinner } from "../components/States";
import { ConnectionBanner } from "../components/run/ConnectionBanner";
import { CodeCard } from "../components/run/CodeCard";
import { ConvergenceCard } from "../components/run/ConvergenceCard";
import { DownloadsCard } from "../components/run/DownloadsCard";
import { FailureCard } from "../components/run/FailureCard";
import { isLinkError } from "../components/run/linkError";
import { ParamsCard } from "../components/run/ParamsCard";
import { ProgressCard } from "../components/run/ProgressCard";
import { ResultCards } from "../components/run/ResultCards";
import { RunHeader } from "../components/run/RunHeader";
import { TimelineCard } from "../components/run/TimelineCard";
import { isTerminal } from "../lib/format";

/** The run in the address: loading, not found, a dead share link, or the run itself. */
export function RunPage() {
  const id = useAtomValue(runIdAtom);
  const feed = useAtomValue(runFeedAtom);
  const shareToken = useAtomValue(runShareTokenAtom);

  if (!feed.job) {
    if (feed.connection === "ended" && shareToken && isLinkError(feed.error)) return <InvalidShareLink error={feed.error} what="run" />;
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
        <ConnectionBanner />
        <Spinner label="Loading run" />
      </section>
    );
  }
  return <RunView />;
}

function RunView() {
  const job = useAtomValue(runJobAtom);
  const latency = useAtomValue(runFeedAtom).stateLatencyMs;
  if (!job) return null;
  const done = isTerminal(job.state);
  return (
    <section className="page run-page" data-testid="run-page" data-state={JobState[job.state]} data-latency-ms={latency !== undefined ? Math.round(latency) : undefined}>
      <RunHeader />
      <div className="run-grid">
        <div className="run-main">
          {job.state === JobState.FAILED ? (
            <>
              <FailureCard />
              <LogsPanel job={job} defaultOpen />
            </>
          ) : null}
          <ProgressCard />
          <ConvergenceCard />
          {job.state === JobState.SUCCEEDED ? <ResultCards /> : null}
          {done ? <DownloadsCard /> : null}
          {job.state !== JobState.FAILED ? <LogsPanel job={job} /> : null}
        </div>
        <aside className="run-side">
          <TimelineCard />
          <ParamsCard />
          <CodeCard />
        </aside>
      </div>
    </section>
  );
}
