// How far a study is, as its pages say it. Pure.
import type { Study } from "../../gen/simlab/v1/simulation_pb";
import { formatCount, formatDuration, formatNumber } from "../format";

/** Points that have ended (any way), of all. */
export function studyEnded(study: Pick<Study, "counts">): number {
  const c = study.counts;
  return c ? c.succeeded + c.failed + c.cancelled : 0;
}

/** "1.5 points/s", "1 point every 40 s". */
export function formatRate(perSecond: number): string {
  if (!(perSecond > 0)) return "—";
  return perSecond >= 1 ? `${formatNumber(Number(perSecond.toPrecision(3)))} points/s` : `1 point every ${formatDuration(1000 / perSecond)}`;
}

/** Where the study is in the queue, while some of its points wait. */
export function queueLine(study: Pick<Study, "counts" | "queueAhead">): string | undefined {
  if (!study.counts?.queued) return undefined;
  const ahead = Number(study.queueAhead);
  return ahead > 0 ? `${formatCount(ahead)} run${ahead === 1 ? "" : "s"} ahead in the queue` : "Next in the queue";
}
