import { useAtomValue } from "jotai";
import { useMemo } from "react";
import { JobState } from "../../gen/simlab/v1/simulation_pb";
import { chartDataAtom } from "../../state/results";
import { runFeedAtom, runIsScriptAtom, runJobAtom, runOutputAtom } from "../../state/run";
import { formatNumber, isTerminal } from "../../lib/format";
import { DEFAULT_CONFIDENCE, formatPercent, targetBand } from "../../lib/precision";
import { ConvergenceChart } from "../Charts";

/** The estimate against samples: live while the run goes, then the run's own chart data. A
 * script's estimate is drawn against its progress, in whatever units it reports. */
export function ConvergenceCard() {
  const job = useAtomValue(runJobAtom);
  const feed = useAtomValue(runFeedAtom);
  const { label, unit } = useAtomValue(runOutputAtom);
  const script = useAtomValue(runIsScriptAtom);
  const against = script ? "progress" : "samples";
  const succeeded = job?.state === JobState.SUCCEEDED;
  const chart = useAtomValue(chartDataAtom(succeeded && job ? job.jobId : ""));
  const useFinal = succeeded && chart?.ok && chart.value.convergence;
  const series = useMemo(() => {
    if (useFinal && chart?.ok && chart.value.convergence) {
      const c = chart.value.convergence;
      if (c.samples.length >= feed.points.length) {
        return [
          {
            name: label,
            points: c.samples.map((s, i) => ({
              seq: BigInt(i),
              samples: s,
              estimate: c.estimate[i] ?? NaN,
              ...(c.stderr[i] !== undefined ? { stderr: c.stderr[i] } : {}),
            })),
          },
        ];
      }
    }
    return [{ name: label, points: feed.points }];
  }, [useFinal, chart, feed.points, label]);
  const precision = job?.precision;
  const target = useMemo(() => {
    const points = series[0]!.points;
    const band = targetBand(precision, points[points.length - 1]?.estimate);
    if (!band || !precision) return undefined;
    return { band, label: `Target ±${formatNumber(band.tolerance)} (${formatPercent(precision.confidence || DEFAULT_CONFIDENCE)})` };
  }, [series, precision]);
  if (!job) return null;
  const done = isTerminal(job.state);
  const conv = chart?.ok ? chart.value.convergence : undefined;
  const empty = series[0]!.points.length === 0;
  if (empty && done) return null;
  return (
    <div className="card">
      <div className="card-head">
        <h2>Convergence</h2>
        <span className="muted">
          {label} ± 1 standard error against {against}
          {target ? " · dotted band: the precision target around the latest estimate" : ""}
          {!done && feed.connection === "live" ? " · streaming" : ""}
        </span>
      </div>
      {empty ? (
        <div className="chart-empty" data-testid="convergence-empty">
          {done
            ? script
              ? "The script reported no estimate (simlab.report(done=…, estimate=…) draws one)."
              : "No progress was recorded for this run."
            : script
              ? "Waiting for the script to report an estimate…"
              : "Waiting for the first block to finish…"}
        </div>
      ) : (
        <ConvergenceChart
          series={series}
          label={conv?.label || label}
          unit={conv?.unit || unit}
          {...(script ? { xLabel: "Progress" } : {})}
          {...(conv?.reference !== undefined ? { reference: conv.reference } : {})}
          {...(conv?.referenceLabel ? { referenceLabel: conv.referenceLabel } : {})}
          {...(target ? { target } : {})}
        />
      )}
    </div>
  );
}
