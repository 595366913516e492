import { StopReason, type Job } from "../../gen/simlab/v1/simulation_pb";
import { formatNumber } from "../../lib/format";
import { halfWidthVsTarget, STOP_REASON_LABELS, toleranceAt } from "../../lib/precision";

/** Where a run with a precision target stopped: why, the blocks and samples its result
 * merges, the half-width it reached against the target, and the blocks computed past it. */
export function StopSummary({ job }: { job: Job }) {
  const stop = job.stop;
  if (!stop) return null;
  const reached = stop.reason === StopReason.PRECISION_REACHED;
  const summaryTarget = job.summary?.["target"];
  const estimate = job.progress?.estimate;
  // The worker's summary has the tolerance at the final estimate; before it, the running one.
  const target =
    typeof summaryTarget === "number" ? summaryTarget : job.precision && estimate !== undefined ? toleranceAt(job.precision, estimate) : undefined;
  const blocks = stop.endBlock - stop.firstBlock;
  return (
    <div className="stop-summary" data-testid="stop-summary">
      <div className="stop-head">
        <span className={`badge ${reached ? "badge-ok" : "badge-warn"}`} data-testid="stop-reason">
          {STOP_REASON_LABELS[stop.reason] ?? "Stopped"}
        </span>
        <span className="muted">{job.precision?.twoStage ? "two-stage" : "sequential"} rule</span>
      </div>
      <table className="table kv">
        <tbody>
          <tr>
            <th scope="row">Half-width</th>
            <td className="mono" data-testid="stop-half-width">
              {halfWidthVsTarget(stop.halfWidth, target, stop.confidence || job.precision?.confidence || 0)}
            </td>
          </tr>
          <tr>
            <th scope="row">Blocks used</th>
            <td className="mono" data-testid="stop-blocks">
              {formatNumber(blocks)}
              {stop.firstBlock > 0n ? ` (blocks ${stop.firstBlock.toString()}–${(stop.endBlock - 1n).toString()}, after the pilot)` : ""}
            </td>
          </tr>
          <tr>
            <th scope="row">Samples used</th>
            <td className="mono" data-testid="stop-samples">
              {formatNumber(stop.samplesUsed)}
            </td>
          </tr>
          <tr>
            <th scope="row">Blocks discarded</th>
            <td className="mono" data-testid="stop-discarded" title="Computed past the stop before the workers learnt of it">
              {formatNumber(stop.blocksDiscarded)}
            </td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}
