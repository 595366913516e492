import { useAtomValue, useSetAtom } from "jotai";
import { useEffect } from "react";
import { isStudyEnded } from "../api/studyWatch";
import { refreshStudiesAtom, studiesPageAtom, studiesPagingAtom, studyModelRef } from "../state/study";
import { Link } from "../components/Link";
import { EmptyState, ErrorState, Spinner } from "../components/States";
import { StudyStateBadge } from "../components/study/StudyStateBadge";
import { studyEnded } from "../lib/study/progress";
import { formatRelative, formatTime, shortId } from "../lib/format";
import { studyPath } from "../lib/share";

/** How often the list is read again while a study on it runs (a stream per study would be
 * one too many here: the Study page has the live one). */
const REFRESH_MS = 5000;

export function StudiesPage() {
  const page = useAtomValue(studiesPageAtom);
  const refresh = useSetAtom(refreshStudiesAtom);
  const paging = useSetAtom(studiesPagingAtom);
  const studies = page?.studies ?? [];
  const anyActive = studies.some((s) => !isStudyEnded(s.state));

  // Always fresh on arrival (a study may have been submitted in between).
  useEffect(() => refresh(), [refresh]);
  useEffect(() => {
    if (!anyActive) return;
    const t = setInterval(refresh, REFRESH_MS);
    return () => clearInterval(t);
  }, [anyActive, refresh]);

  return (
    <section className="page" data-testid="studies-page">
      <header className="page-head">
        <div>
          <h1>Studies</h1>
          <p className="muted">Your parameter sweeps, newest first: one model run at many points.</p>
        </div>
        <div className="head-actions">
          <Link className="btn btn-primary" to="/studies/new" data-testid="new-study">
            New study
          </Link>
        </div>
      </header>
      <div className="card table-card">
        {page === null ? (
          <Spinner label="Loading studies" />
        ) : page.error ? (
          <ErrorState title="Could not load studies" error={page.error} onRetry={refresh} />
        ) : studies.length === 0 ? (
          <EmptyState
            title="No studies yet"
            action={
              <Link className="btn btn-primary" to="/studies/new">
                Start a study
              </Link>
            }
          >
            Sweep a model&apos;s parameters over a grid or a Sobol design and compare every point in one chart.
          </EmptyState>
        ) : (
          <table className="table runs" data-testid="studies-table">
            <thead>
              <tr>
                <th scope="col">Study</th>
                <th scope="col">Model</th>
                <th scope="col" className="num">
                  Points
                </th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {studies.map((s) => {
                const ended = studyEnded(s);
                const pct = s.points ? Math.round((ended / s.points) * 100) : 0;
                return (
                  <tr key={s.studyId} data-study-id={s.studyId}>
                    <td>
                      <Link to={studyPath(s.studyId)} className="run-link">
                        {s.title || `Study ${shortId(s.studyId)}`}
                      </Link>
                      <div className="muted mono cell-ref">{shortId(s.studyId)}</div>
                    </td>
                    <td className="mono">{studyModelRef(s)}</td>
                    <td className="num mono">{s.points.toLocaleString("en-US")}</td>
                    <td>
                      <StudyStateBadge state={s.state} />
                    </td>
                    <td className="cell-progress">
                      <div className="progress progress-compact">
                        <div className="progress-track" role="progressbar" aria-label={`Points ended of study ${s.title || shortId(s.studyId)}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
                          <div className="progress-fill" style={{ width: `${pct}%` }} />
                        </div>
                        <span className="progress-pct mono" title={`${ended} of ${s.points} points ended`}>
                          {pct}%
                        </span>
                      </div>
                    </td>
                    <td title={formatTime(s.createdAt)} className="nowrap">
                      {formatRelative(s.createdAt)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {page && !page.error && (page.pageIndex > 0 || page.nextPageToken) ? (
          <div className="pager">
            <button type="button" className="btn btn-ghost" disabled={page.pageIndex === 0} onClick={() => paging("prev")}>
              ← Newer
            </button>
            <span className="muted">Page {page.pageIndex + 1}</span>
            <button type="button" className="btn btn-ghost" disabled={!page.nextPageToken} onClick={() => paging("next")}>
              Older →
            </button>
          </div>
        ) : null}
      </div>
    </section>
  );
}
