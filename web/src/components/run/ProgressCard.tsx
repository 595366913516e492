import { useAtomValue } from "jotai";
import { useEffect, useState } from "react";
import { JobState } from "../../gen/simlab/v1/simulation_pb";
import { runFeedAtom, runIsScriptAtom, runJobAtom, runOutputAtom } from "../../state/run";
import { formatDuration, formatNumber, isTerminal, toDate } from "../../lib/format";
import { ProgressBar } from "../Progress";

/** How far the run is, for how long it has run, and its current estimate. */
export function ProgressCard() {
  const job = useAtomValue(runJobAtom);
  const lastEventAt = useAtomValue(runFeedAtom).lastEventAt;
  const { label, unit } = useAtomValue(runOutputAtom);
  const script = useAtomValue(runIsScriptAtom);
  const done = job ? isTerminal(job.state) : true;
  const now = useNow(done ? 0 : 1000);
  if (!job) return null;
  const started = job.history.find((h) => h.state === JobState.RUNNING)?.at;
  const ended = done ? job.history[job.history.length - 1]?.at : undefined;
  const startMs = toDate(started)?.getTime();
  const elapsed = startMs !== undefined ? (toDate(ended)?.getTime() ?? Math.max(now, lastEventAt ?? 0)) - startMs : undefined;
  const progress = job.progress;
  return (
    <div className="card">
      <div className="card-head">
        <h2>Progress</h2>
        {elapsed !== undefined ? <span className="muted">{done ? "Ran for" : "Running for"} {formatDuration(elapsed)}</span> : null}
      </div>
      <ProgressBar progress={progress} active={job.state === JobState.RUNNING} script={script} />
      <div className="stat-row">
        <Stat label={`${label}${unit ? ` (${unit})` : ""}`} value={progress?.estimate} testId="estimate" />
        <Stat label="Standard error" value={progress?.stderr} />
        <Stat
          label="Relative error"
          value={progress?.estimate !== undefined && progress.stderr !== undefined && progress.estimate !== 0 ? Math.abs(progress.stderr / progress.estimate) : undefined}
          percent
        />
      </div>
    </div>
  );
}

/** The current time, re-read every `ms` (0: never). */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ms) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

function Stat({ label, value, testId, percent = false }: { label: string; value: number | undefined; testId?: string; percent?: boolean }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value mono" data-testid={testId}>
        {value === undefined ? "—" : percent ? `${(value * 100).toPrecision(3)}%` : formatNumber(value)}
      </div>
    </div>
  );
}
