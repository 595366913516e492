import { useAtomValue, useSetAtom } from "jotai";
import { useState } from "react";
import { isStudyEnded } from "../../api/studyWatch";
import { studyCsvUrl } from "../../api/client";
import { cancelStudyAtom, shownStudyAtom, studyModelAtom, studyModelRef, studyPageFeedAtom, studyShareTokenAtom } from "../../state/study";
import { formatTime, shortId } from "../../lib/format";
import { describeDesign } from "../../lib/study/spec";
import { useConfirmedAction } from "../../lib/useConfirmedAction";
import { Link } from "../Link";
import { SharePanel } from "../SharePanel";
import { SharedBadge } from "../SharedBadge";
import { ErrorState } from "../States";
import { StudyStateBadge } from "./StudyStateBadge";

/** The top of the Study page: what the study is, and what can be done with it (a shared
 * view can look and download, not change anything). */
export function StudyHeader() {
  const study = useAtomValue(shownStudyAtom);
  const feed = useAtomValue(studyPageFeedAtom);
  const model = useAtomValue(studyModelAtom);
  const shareToken = useAtomValue(studyShareTokenAtom);
  const cancel = useSetAtom(cancelStudyAtom);
  const [sharing, setSharing] = useState(false);
  const cancelIt = useConfirmedAction(
    `Cancel this study? Its ${(study?.points ?? 0).toLocaleString("en-US")} points stop: queued ones never start, running ones end now.`,
    () => cancel(study?.studyId ?? ""),
  );
  if (!study) return null;
  const readOnly = shareToken !== undefined;
  const active = !isStudyEnded(study.state);
  const title = study.title || `${model?.title || study.spec?.model || "Untitled"} study`;

  return (
    <>
      {readOnly ? null : (
        <nav className="crumbs" aria-label="Breadcrumb">
          <Link to="/studies">Studies</Link> <span aria-hidden="true">/</span> <span className="mono">{shortId(study.studyId)}</span>
        </nav>
      )}
      <header className="page-head">
        <div className="head-main">
          <div className="head-title">
            <h1 data-testid="study-title">{title}</h1>
            <StudyStateBadge state={study.state} testId="study-state" />
            {feed.connection === "live" && active ? (
              <span className="live-pill" title="Streaming live updates">
                Live
              </span>
            ) : null}
            {readOnly ? <SharedBadge /> : null}
          </div>
          <div className="head-meta muted">
            <span className="mono" title="Study id">
              {study.studyId}
            </span>
            <span className="mono" title="The model version every point runs" data-testid="study-model">
              {studyModelRef(study)}
            </span>
            <span data-testid="study-design">{describeDesign(study.spec)}</span>
            <span data-testid="study-seeds" title={study.spec?.crn ? "Common random numbers: every point draws the same block streams" : "Each point has its own seed, derived from the study's"}>
              {study.spec?.crn ? "Common random numbers" : "Independent seeds"} · seed {study.spec?.seed.toString()}
            </span>
            <span>Submitted {formatTime(study.createdAt)}</span>
            {study.owner ? <span>by {study.owner}</span> : null}
          </div>
        </div>
        <div className="head-actions">
          <a className="btn btn-secondary" href={studyCsvUrl(study.studyId, shareToken)} download data-testid="download-csv">
            Download CSV
          </a>
          {readOnly ? null : (
            <>
              <button type="button" className="btn btn-secondary" onClick={() => setSharing((s) => !s)} aria-expanded={sharing} data-testid="share">
                Share
              </button>
              {active ? (
                <button type="button" className="btn btn-danger" onClick={cancelIt.run} disabled={cancelIt.busy} data-testid="cancel-study">
                  {cancelIt.busy ? "Cancelling…" : "Cancel study"}
                </button>
              ) : null}
            </>
          )}
        </div>
      </header>
      {sharing && !readOnly ? <SharePanel target={{ kind: "study", id: study.studyId }} onClose={() => setSharing(false)} /> : null}
      {/* Not on a return to the page, which reopens the stream with what it had: only after a drop. */}
      {feed.connection === "reconnecting" && feed.attempts > 0 ? (
        <div className="banner banner-warn" role="status" data-testid="reconnecting">
          <span className="spinner small" aria-hidden="true" />
          <span>
            <strong>Reconnecting…</strong> The live connection dropped{feed.error ? ` (${feed.error.detail || feed.error.message})` : ""}. The points update
            again once it is back.
          </span>
        </div>
      ) : null}
      {cancelIt.error ? <ErrorState title="Could not cancel" error={cancelIt.error} /> : null}
    </>
  );
}
