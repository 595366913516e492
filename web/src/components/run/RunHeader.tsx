import { useAtomValue, useSetAtom } from "jotai";
import { useState } from "react";
import { JobState } from "../../gen/simlab/v1/simulation_pb";
import { cancelJobAtom } from "../../state/job";
import { runFeedAtom, runIsScriptAtom, runJobAtom, runModelAtom, runShareTokenAtom } from "../../state/run";
import { formatTime, isTerminal, shortId } from "../../lib/format";
import { jobModelRef, ownerLabel } from "../../lib/models";
import { runPath } from "../../lib/share";
import { useConfirmedAction } from "../../lib/useConfirmedAction";
import { Link } from "../Link";
import { SharePanel } from "../SharePanel";
import { SharedBadge } from "../SharedBadge";
import { ErrorState } from "../States";
import { StatusBadge } from "../StatusBadge";
import { ConnectionBanner } from "./ConnectionBanner";
import { ExtendPanel } from "./ExtendPanel";
import { isLinkError } from "./linkError";
import { StudyPointLine } from "./StudyPointLine";

/** The top of the Run page: where it is, what it is, what can be done with it (not in a
 * shared view), and the banners about the connection and the last action. */
export function RunHeader() {
  const job = useAtomValue(runJobAtom);
  const feed = useAtomValue(runFeedAtom);
  const model = useAtomValue(runModelAtom);
  const shareToken = useAtomValue(runShareTokenAtom);
  const cancel = useSetAtom(cancelJobAtom);
  const script = useAtomValue(runIsScriptAtom);
  const [sharing, setSharing] = useState(false);
  const [extending, setExtending] = useState(false);
  const cancelRun = useConfirmedAction("Cancel this run? Work done so far is discarded.", () => cancel(job?.jobId ?? ""));
  if (!job) return null;
  const readOnly = shareToken !== undefined;
  const active = !isTerminal(job.state);
  const extendable = job.state === JobState.SUCCEEDED && !script;

  return (
    <>
      {readOnly ? null : (
        <nav className="crumbs" aria-label="Breadcrumb">
          {job.studyId ? <Link to="/studies">Studies</Link> : <Link to="/">Runs</Link>} <span aria-hidden="true">/</span> <span className="mono">{shortId(job.jobId)}</span>
        </nav>
      )}
      <header className="page-head">
        <div className="head-main">
          <div className="head-title">
            <h1>{model?.title || job.model}</h1>
            <StatusBadge state={job.state} live={active} />
            {feed.connection === "live" && active ? <span className="live-pill" title="Streaming live updates">Live</span> : null}
            {readOnly ? <SharedBadge /> : null}
            {job.cachedFrom ? (
              <RunBadge to={job.cachedFrom} readOnly={readOnly} testId="cached-from" title="No worker ran: this is that finished run's result (same code, runtime, parameters, seed and precision)">
                cached from
              </RunBadge>
            ) : null}
            {job.extends ? (
              <RunBadge to={job.extends} readOnly={readOnly} testId="extends" title="This run reused that finished run's blocks and computed only the missing ones">
                extends
              </RunBadge>
            ) : null}
          </div>
          {job.studyId ? <StudyPointLine studyId={job.studyId} index={job.studyPoint} shareToken={shareToken} /> : null}
          <div className="head-meta muted">
            <span className="mono" title="Run id">{job.jobId}</span>
            <span className="mono" title="The model version this run ran" data-testid="run-model">
              {jobModelRef(job)}
              {model ? ` · ${ownerLabel(model)}` : ""}
            </span>
            <CopyLinkButton />
            <span>Submitted {formatTime(job.createdAt)}</span>
            {job.owner ? <span>by {job.owner}</span> : null}
          </div>
        </div>
        {readOnly ? null : (
          <div className="head-actions">
            <button
              type="button"
              className="btn btn-secondary"
              onClick={() => setSharing((s) => !s)}
              aria-expanded={sharing}
              data-testid="share"
            >
              Share
            </button>
            {active ? (
              <button
                type="button"
                className="btn btn-danger"
                onClick={cancelRun.run}
                disabled={cancelRun.busy || job.state === JobState.CANCELLING}
                data-testid="cancel"
              >
                {job.state === JobState.CANCELLING || cancelRun.busy ? "Cancelling…" : "Cancel run"}
              </button>
            ) : null}
            {extendable ? (
              <button
                type="button"
                className="btn btn-secondary"
                onClick={() => setExtending((s) => !s)}
                aria-expanded={extending}
                data-testid="add-samples"
              >
                Add samples
              </button>
            ) : null}
            {job.state === JobState.SUCCEEDED ? (
              <Link className="btn btn-secondary" to={`/compare?ids=${encodeURIComponent(job.jobId)}`}>
                Compare…
              </Link>
            ) : null}
            <Link className="btn btn-primary" to={`/new?from=${encodeURIComponent(job.jobId)}`} data-testid="run-again">
              Run again
            </Link>
          </div>
        )}
      </header>
      {sharing && !readOnly ? <SharePanel target={{ kind: "run", id: job.jobId }} onClose={() => setSharing(false)} /> : null}
      {extending && extendable && !readOnly ? <ExtendPanel key={job.jobId} job={job} onClose={() => setExtending(false)} /> : null}
      {readOnly && isLinkError(feed.error) ? (
        <div className="banner banner-warn" role="alert" data-testid="share-invalid">
          <span>
            <strong>This link is no longer valid.</strong> What is shown is as it was when the link stopped working; ask the person who shared it for a new one.
          </span>
        </div>
      ) : null}
      <ConnectionBanner />
      {cancelRun.error ? <ErrorState title="Could not cancel" error={cancelRun.error} /> : null}
    </>
  );
}

/** A run this one came from (a cache hit's, a top-up's source): a link to it, plain text in a
 * shared view (whose link does not open other runs). */
function RunBadge({ to, readOnly, testId, title, children }: { to: string; readOnly: boolean; testId: string; title: string; children: React.ReactNode }) {
  const body = (
    <>
      {children} <span className="mono">{shortId(to)}</span>
    </>
  );
  return readOnly ? (
    <span className="badge badge-info" data-testid={testId} title={title}>
      {body}
    </span>
  ) : (
    <Link className="badge badge-info" to={`/runs/${encodeURIComponent(to)}`} data-testid={testId} title={title}>
      {body}
    </Link>
  );
}

function CopyLinkButton() {
  const jobId = useAtomValue(runJobAtom)?.jobId ?? "";
  const shareToken = useAtomValue(runShareTokenAtom);
  const [copied, setCopied] = useState(false);
  const copyLink = async () => {
    try {
      // A shared view hands on the same link (the token may be kept by the tab only).
      await navigator.clipboard.writeText(shareToken !== undefined ? `${window.location.origin}${runPath(jobId, shareToken)}` : window.location.href);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      /* clipboard not allowed: the URL bar still has it */
    }
  };
  return (
    <button type="button" className="link-btn" onClick={copyLink}>
      {copied ? "Link copied" : "Copy link"}
    </button>
  );
}
