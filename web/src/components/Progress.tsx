import type { Progress, StopInfo } from "../gen/simlab/v1/simulation_pb";
import { formatCount, formatNumber } from "../lib/format";

/** How far a run is: with a decided stop, of the blocks it needs ([0, end_block)). */
export function fraction(p: Progress | undefined, stop?: StopInfo): number {
  if (!p) return 0;
  if (stop && stop.endBlock > 0n) return Math.min(1, Number(p.blocksDone) / Number(stop.endBlock));
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
  stop,
}: {
  progress: Progress | undefined;
  /** Where a run with a precision target stops, once decided. */
  stop?: StopInfo | undefined;
  active: boolean;
  compact?: boolean;
  script?: boolean;
}) {
  const f = fraction(progress, stop);
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
              {stop ? ` · stops at block ${stop.endBlock.toString()}` : ""}
            </span>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
