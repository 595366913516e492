import { useAtomValue, useSetAtom } from "jotai";
import { useState } from "react";
import { Code } from "@connectrpc/connect";
import { StudyState } from "../gen/simlab/v1/simulation_pb";
import {
  comparePointsAtom,
  shownStudyAtom,
  studyConfidenceAtom,
  studyIdAtom,
  studyModelAtom,
  studyOutputAtom,
  studyPageFeedAtom,
  studyRowsAtom,
  studyShareTokenAtom,
} from "../state/study";
import { locationAtom } from "../state/router";
import { Link } from "../components/Link";
import { InvalidShareLink } from "../components/InvalidShareLink";
import { EmptyState, Spinner } from "../components/States";
import { isLinkError } from "../components/run/linkError";
import { ComparePanel, type CompareState } from "../components/study/ComparePanel";
import { PointsTable } from "../components/study/PointsTable";
import { StudyChartCard } from "../components/study/StudyChartCard";
import { StudyHeader } from "../components/study/StudyHeader";
import { StudyProgressCard } from "../components/study/StudyProgressCard";
import { formatPercent } from "../lib/precision";
import { runPath } from "../lib/share";
import type { PointRow } from "../lib/study/points";

/** The study in the address: loading, not found, a dead share link, or the study itself. */
export function StudyPage() {
  const id = useAtomValue(studyIdAtom);
  const feed = useAtomValue(studyPageFeedAtom);
  const shareToken = useAtomValue(studyShareTokenAtom);
  if (!feed.study) {
    if (feed.connection === "ended" && shareToken && isLinkError(feed.error)) return <InvalidShareLink error={feed.error} what="study" />;
    if (feed.connection === "ended" && feed.error) {
      const notFound = feed.error.code === Code.NotFound;
      return (
        <section className="page">
          <EmptyState title={notFound ? "Study not found" : "This study cannot be shown"} action={<Link className="btn btn-secondary" to="/studies">Back to studies</Link>}>
            <p>
              <span className="mono">{id}</span>: {feed.error.message}
            </p>
          </EmptyState>
        </section>
      );
    }
    return (
      <section className="page">
        <Spinner label="Loading study" />
      </section>
    );
  }
  return <StudyView />;
}

function StudyView() {
  const study = useAtomValue(shownStudyAtom);
  const rows = useAtomValue(studyRowsAtom);
  const model = useAtomValue(studyModelAtom);
  const output = useAtomValue(studyOutputAtom);
  const confidence = useAtomValue(studyConfidenceAtom);
  const shareToken = useAtomValue(studyShareTokenAtom);
  const compare = useSetAtom(comparePointsAtom);
  const navigate = useSetAtom(locationAtom);
  const [selected, setSelected] = useState<number[]>([]);
  const [comparison, setComparison] = useState<CompareState | null>(null);
  if (!study) return null;

  const toggle = (index: number) => setSelected((s) => (s.includes(index) ? s.filter((x) => x !== index) : s.length >= 2 ? s : [...s, index]));
  const onCompare = async () => {
    const [a, b] = [...selected].sort((x, y) => x - y);
    if (a === undefined || b === undefined) return;
    setComparison({ a, b, loading: true });
    const r = await compare(study.studyId, a, b);
    setComparison(r.ok ? { a, b, loading: false, result: r.value } : { a, b, loading: false, error: r.error });
  };
  const runHref = (row: PointRow) => runPath(row.jobId, shareToken);

  return (
    <section className="page study-page" data-testid="study-page" data-state={StudyState[study.state]}>
      <StudyHeader />
      <StudyProgressCard />
      <StudyChartCard />
      {comparison ? <ComparePanel state={comparison} label={output.label} crn={study.spec?.crn ?? false} onClose={() => setComparison(null)} /> : null}
      <div className="card table-card">
        <div className="card-head table-head">
          <div>
            <h2>Points</h2>
            <p className="muted">Click a point to open its run. Tick two finished points to compare them.</p>
          </div>
          <button type="button" className="btn btn-secondary" disabled={selected.length !== 2} onClick={() => void onCompare()} data-testid="compare-points">
            Compare{selected.length ? ` (${selected.length})` : ""}
          </button>
        </div>
        <PointsTable
          rows={rows}
          swept={study.swept}
          model={model}
          confidenceLabel={formatPercent(confidence)}
          selected={selected}
          onToggle={toggle}
          onOpen={(row) => navigate(runHref(row))}
          runHref={runHref}
        />
      </div>
    </section>
  );
}
