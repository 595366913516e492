import type { Progress } from "../gen/simlab/v1/simulation_pb";
import { formatCount, formatNumber } from "../lib/format";

export function fraction(p: Progress | undefined): number {
  if (!p) return 0;
  if (p.samplesTotal > 0n) return Math.min(1, Number(p.samplesDone) / Number(p.samplesTotal));
  if (p.blocksTotal > 0n) return Math.min(1, Number(p.blocksDone) / Number(p.blocksTotal));
  return 0;
}

/** How far a run is. `script`: the progress is in the script's own units (what it passed to
 * simlab.report), without blocks, and its total may be unknown. */
export function ProgressBar({
  progress,
  active,
  compact = false,
  script = false,
}: {
  progress: Progress | undefined;
  active: boolean;
  compact?: boolean;
  script?: boolean;
}) {
  const f = fraction(progress);
  const pct = Math.round(f * 1000) / 10;
  const unknownTotal = script && (progress?.samplesTotal ?? 0n) === 0n;
  return (
    <div className={`progress ${compact ? "progress-compact" : ""}`}>
      <div
        className="progress-track"
        role="progressbar"
        aria-label="Progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={unknownTotal ? undefined : pct}
        data-testid="progress"
      >
        <div className={`progress-fill ${active ? "progress-active" : ""}`} style={{ width: `${pct}%` }} />
      </div>
      {compact ? <span className="progress-pct mono">{Math.floor(pct)}%</span> : null}
      {!compact ? (
        <div className="progress-meta">
          <span data-testid="progress-pct">{unknownTotal ? "—" : `${pct.toFixed(1)}%`}</span>
          {progress && script ? (
            <span className="muted" data-testid="progress-samples">
              {formatNumber(Number(progress.samplesDone))}
              {unknownTotal ? "" : ` / ${formatNumber(Number(progress.samplesTotal))}`} done
            </span>
          ) : progress ? (
            <span className="muted" data-testid="progress-samples">
              {formatCount(progress.samplesDone)} / {formatCount(progress.samplesTotal)} samples · block{" "}
              {progress.blocksDone.toString()} of {progress.blocksTotal.toString()}
            </span>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
