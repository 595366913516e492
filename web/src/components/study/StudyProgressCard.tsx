import { useAtomValue } from "jotai";
import { StudyState } from "../../gen/simlab/v1/simulation_pb";
import { isStudyEnded } from "../../api/studyWatch";
import { shownStudyAtom } from "../../state/study";
import { formatCount, formatDuration, formatTime, toDate } from "../../lib/format";
import { formatRate, queueLine, studyEnded } from "../../lib/study/progress";

const COUNTS: { key: "queued" | "running" | "succeeded" | "failed" | "cancelled"; label: string; tone: string }[] = [
  { key: "queued", label: "Queued", tone: "neutral" },
  { key: "running", label: "Running", tone: "info" },
  { key: "succeeded", label: "Succeeded", tone: "ok" },
  { key: "failed", label: "Failed", tone: "bad" },
  { key: "cancelled", label: "Cancelled", tone: "muted" },
];

/** How far the study is: its points by state, the rate they end at, the time left and its
 * place in the queue. */
export function StudyProgressCard() {
  const study = useAtomValue(shownStudyAtom);
  if (!study) return null;
  const ended = studyEnded(study);
  const pct = study.points > 0 ? Math.round((ended / study.points) * 1000) / 10 : 0;
  const done = isStudyEnded(study.state);
  const queue = done ? undefined : queueLine(study);
  const started = toDate(study.createdAt)?.getTime();
  const endedAt = toDate(study.endedAt)?.getTime();
  return (
    <div className="card" data-testid="study-progress-card">
      <div className="card-head">
        <h2>Progress</h2>
        {done && started !== undefined && endedAt !== undefined ? (
          <span className="muted" title={`Ended ${formatTime(study.endedAt)}`}>
            Took {formatDuration(endedAt - started)}
          </span>
        ) : null}
      </div>
      <div className="progress">
        <div
          className="progress-track"
          role="progressbar"
          aria-label="Points ended"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct}
          data-testid="study-progress"
        >
          <div className={`progress-fill ${study.state === StudyState.RUNNING ? "progress-active" : ""}`} style={{ width: `${pct}%` }} />
        </div>
        <div className="progress-meta">
          <span>{pct.toFixed(1)}%</span>
          <span className="muted" data-testid="study-ended">
            {ended.toLocaleString("en-US")} of {study.points.toLocaleString("en-US")} points ended
            {study.samplesTotal > 0n ? ` · ${formatCount(study.samplesDone)} / ${formatCount(study.samplesTotal)} samples` : ""}
          </span>
        </div>
      </div>
      <div className="chips" data-testid="study-counts">
        {COUNTS.map((c) => (
          <span key={c.key} className={`badge badge-${c.tone}`} data-count={c.key}>
            {c.label} {(study.counts?.[c.key] ?? 0).toLocaleString("en-US")}
          </span>
        ))}
      </div>
      {done ? null : (
        <div className="stat-row">
          <div className="stat">
            <div className="stat-label">Rate (last minute)</div>
            <div className="stat-value" data-testid="study-rate">
              {formatRate(study.pointsPerSecond)}
            </div>
          </div>
          <div className="stat">
            <div className="stat-label">Time left</div>
            <div className="stat-value" data-testid="study-eta">
              {study.etaSeconds > 0 ? `~${formatDuration(study.etaSeconds * 1000)}` : "—"}
            </div>
          </div>
          <div className="stat">
            <div className="stat-label">Queue</div>
            <div className="stat-value stat-text" data-testid="study-queue">
              {queue ?? "Every point has started"}
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
