import type { ComparePointsResponse } from "../../gen/simlab/v1/simulation_pb";
import type { ApiError } from "../../api/errors";
import { formatNumber } from "../../lib/format";
import { formatPercent } from "../../lib/precision";
import { ErrorState, Spinner } from "../States";

/** The independent-seed standard error of the difference over the paired one: how many times
 * smaller pairing made it. */
export function precisionGain(res: Pick<ComparePointsResponse, "stderr" | "stderrIndependent">): number | undefined {
  return res.stderr > 0 && res.stderrIndependent > 0 ? res.stderrIndependent / res.stderr : undefined;
}

export type CompareState = { a: number; b: number } & ({ loading: true } | { loading: false; result: ComparePointsResponse } | { loading: false; error: ApiError });

/** The difference of two points' primary output, from their paired blocks. */
export function ComparePanel({ state, label, crn, onClose }: { state: CompareState; label: string; crn: boolean; onClose: () => void }) {
  const gain = "result" in state ? precisionGain(state.result) : undefined;
  return (
    <section className="card compare-card" aria-labelledby="compare-title" data-testid="compare-panel">
      <div className="card-head">
        <div>
          <h2 id="compare-title">
            Point {state.b} − point {state.a}
          </h2>
          <p className="muted">
            The difference of {label} between the two points, with its standard error from their paired blocks
            {crn ? ": with common random numbers their noise largely cancels." : "."}
          </p>
        </div>
        <button type="button" className="btn btn-ghost" onClick={onClose} aria-label="Close the comparison">
          Close
        </button>
      </div>
      {state.loading ? (
        <Spinner label="Comparing" />
      ) : "error" in state ? (
        <ErrorState title="Could not compare these points" error={state.error} />
      ) : (
        <div className="stat-row compare-stats">
          <div className="stat">
            <div className="stat-label">Difference (b − a)</div>
            <div className="stat-value mono" data-testid="compare-difference">
              {formatNumber(state.result.difference)} ± {formatNumber(state.result.halfWidth)}
            </div>
            <div className="muted small">{formatPercent(state.result.confidence || 0.95)} interval</div>
          </div>
          <div className="stat">
            <div className="stat-label">Standard error (paired)</div>
            <div className="stat-value mono" data-testid="compare-stderr">
              {formatNumber(state.result.stderr)}
            </div>
            <div className="muted small">
              from {state.result.blocks.toString()} paired blocks · correlation {formatNumber(Number(state.result.correlation.toFixed(3)))}
            </div>
          </div>
          <div className="stat">
            <div className="stat-label">With independent seeds</div>
            <div className="stat-value mono" data-testid="compare-stderr-independent">
              {formatNumber(state.result.stderrIndependent)}
            </div>
            <div className="muted small" data-testid="compare-ratio">
              {gain !== undefined ? `ratio ${formatNumber(Number(gain.toPrecision(3)))} (independent ÷ paired)` : "ratio —"}
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
