import { useAtomValue } from "jotai";
import { useEffect, useState } from "react";
import { JobState } from "../../gen/simlab/v1/simulation_pb";
import { runFeedAtom, runIsScriptAtom, runJobAtom, runOutputAtom } from "../../state/run";
import { formatDuration, formatNumber, isTerminal, toDate } from "../../lib/format";
import { DEFAULT_CONFIDENCE, formatPercent, sampleRate, timeToTarget, toleranceAt } from "../../lib/precision";
import { ProgressBar } from "../Progress";
import { StopSummary } from "./StopSummary";

/** How far the run is, for how long it has run, and its current estimate. */
export function ProgressCard() {
  const job = useAtomValue(runJobAtom);
  const lastEventAt = useAtomValue(runFeedAtom).lastEventAt;
  const { label, unit } = useAtomValue(runOutputAtom);
  const script = useAtomValue(runIsScriptAtom);
  const done = job ? isTerminal(job.state) : true;
  const now = useNow(done ? 0 : 1000);
  const observedRate = useObservedRate(job?.jobId ?? "", Number(job?.progress?.samplesDone ?? 0n), lastEventAt);
  if (!job) return null;
  const started = job.history.find((h) => h.state === JobState.RUNNING)?.at;
  const ended = done ? job.history[job.history.length - 1]?.at : undefined;
  const startMs = toDate(started)?.getTime();
  const elapsed = startMs !== undefined ? (toDate(ended)?.getTime() ?? Math.max(now, lastEventAt ?? 0)) - startMs : undefined;
  const progress = job.progress;
  // Until two observations, the average since the run started (not for a top-up, whose
  // progress starts with the blocks it reused).
  const rate =
    observedRate ??
    (elapsed && !job.extends && progress ? sampleRate({ atMs: 0, samples: 0 }, { atMs: elapsed, samples: Number(progress.samplesDone) }) : undefined);
  const toTarget = job.precision && !job.stop && !done && progress ? timeToTarget(progress, rate) : undefined;
  return (
    <div className="card">
      <div className="card-head">
        <h2>Progress</h2>
        {elapsed !== undefined ? <span className="muted">{done ? "Ran for" : "Running for"} {formatDuration(elapsed)}</span> : null}
      </div>
      <ProgressBar progress={progress} active={job.state === JobState.RUNNING} script={script} stop={job.stop} />
      <div className="stat-row">
        <Stat label={`${label}${unit ? ` (${unit})` : ""}`} value={progress?.estimate} testId="estimate" />
        <Stat label="Standard error" value={progress?.stderr} />
        <Stat
          label="Relative error"
          value={progress?.estimate !== undefined && progress.stderr !== undefined && progress.estimate !== 0 ? Math.abs(progress.stderr / progress.estimate) : undefined}
          percent
        />
      </div>
      {job.precision && !job.stop && !done ? (
        <p className="muted" data-testid="time-to-target">
          Target ±{progress?.estimate !== undefined ? formatNumber(toleranceAt(job.precision, progress.estimate)) : "—"} at{" "}
          {formatPercent(job.precision.confidence || DEFAULT_CONFIDENCE)}
          {toTarget ? ` · ${toTarget}` : ""}
        </p>
      ) : null}
      <StopSummary job={job} />
    </div>
  );
}

/** Samples per second this page has seen the run draw: from its first observation of the
 * run to the last event (undefined until some were drawn in between). */
function useObservedRate(jobId: string, samples: number, atMs: number | undefined): number | undefined {
  const [first, setFirst] = useState<{ jobId: string; atMs: number; samples: number } | null>(null);
  // Information from an earlier render (React's pattern: set during render, no effect).
  if (atMs !== undefined && first?.jobId !== jobId) setFirst({ jobId, atMs, samples });
  return atMs !== undefined && first?.jobId === jobId ? sampleRate(first, { atMs, samples }) : undefined;
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
