import type { StateChange } from "../gen/simlab/v1/simulation_pb";
import { JobState } from "../gen/simlab/v1/simulation_pb";
import { formatClock, formatDuration, formatTime, stateLabel, toDate } from "../lib/format";

export function Timeline({ history }: { history: StateChange[] }) {
  if (history.length === 0) return <p className="muted">No state changes yet.</p>;
  return (
    <ol className="timeline" data-testid="timeline">
      {history.map((h, i) => {
        const next = history[i + 1];
        const a = toDate(h.at);
        const b = toDate(next?.at);
        const took = a && b ? formatDuration(b.getTime() - a.getTime()) : undefined;
        return (
          <li key={`${h.state}-${i}`} className={`tl-item tl-${JobState[h.state]?.toLowerCase()}`}>
            <span className="tl-dot" aria-hidden="true" />
            <div className="tl-body">
              <div className="tl-head">
                <strong>{stateLabel(h.state)}</strong>
                <time className="muted" title={formatTime(h.at)}>{formatClock(h.at)}</time>
              </div>
              {h.reason ? <div className="tl-reason">{h.reason}</div> : null}
              {took ? <div className="tl-took muted">{took}</div> : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
