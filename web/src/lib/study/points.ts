// A study's points as the Study page holds them: merged from WatchStudy events by index (the
// highest seq wins), as table rows with their interval, and sorted by any column. Pure.
import type { JsonValue } from "@bufbuild/protobuf";
import { JobState, StopReason, type StudyPoint } from "../../gen/simlab/v1/simulation_pb";
import { normalQuantile } from "./stats";

/** Points by index; a slot is empty until its point was seen. */
export type PointSlots = readonly (StudyPoint | undefined)[];

/**
 * `current` with `incoming` merged in: a point replaces the one at its index only with a
 * higher seq (an older or repeated one is dropped). Returns `current` itself when nothing
 * changed, so a caller can skip a redraw.
 */
export function mergePoints(current: PointSlots, incoming: readonly StudyPoint[]): PointSlots {
  let out: (StudyPoint | undefined)[] | null = null;
  for (const p of incoming) {
    if (p.index < 0) continue;
    const slots = out ?? current;
    const seen = slots[p.index];
    if (seen && seen.seq >= p.seq) continue;
    out ??= current.slice();
    out[p.index] = p;
  }
  return out ?? current;
}

/** One row of the points table (and one dot of the chart). */
export interface PointRow {
  index: number;
  jobId: string;
  state: JobState;
  params: Record<string, JsonValue>;
  estimate?: number;
  stderr?: number;
  /** Of the interval at the study's confidence: the stop's half-width when the point
   * stopped at a precision target, else z · stderr. */
  halfWidth?: number;
  samples: number;
  stopReason: StopReason;
  error: string;
}

/** The z of a two-sided interval: 1.96 for 0.95. */
export function zOf(confidence: number): number {
  return normalQuantile(0.5 + confidence / 2);
}

export function rowOf(p: StudyPoint, z: number): PointRow {
  const estimate = p.progress?.estimate;
  const stderr = p.progress?.stderr;
  const halfWidth = p.stop?.halfWidth ?? (stderr !== undefined ? z * stderr : undefined);
  return {
    index: p.index,
    jobId: p.jobId,
    state: p.state,
    params: (p.parameters ?? {}) as Record<string, JsonValue>,
    ...(estimate !== undefined ? { estimate } : {}),
    ...(stderr !== undefined ? { stderr } : {}),
    ...(halfWidth !== undefined ? { halfWidth } : {}),
    samples: Number(p.progress?.samplesDone ?? 0n),
    stopReason: p.stop?.reason ?? StopReason.UNSPECIFIED,
    error: p.error,
  };
}

/** The rows of the points seen so far, in index order. */
export function rowsOf(points: PointSlots, confidence: number): PointRow[] {
  const z = zOf(confidence);
  const rows: PointRow[] = [];
  for (const p of points) if (p) rows.push(rowOf(p, z));
  return rows;
}

/** A column of the table: a fixed one, or "param:<name>" for a swept parameter. */
export type SortKey = "index" | "state" | "estimate" | "stderr" | "halfWidth" | "samples" | `param:${string}`;
export interface Sort {
  key: SortKey;
  descending: boolean;
}

/** Order of states in a sort: as a point goes through them. */
const STATE_ORDER: Record<JobState, number> = {
  [JobState.UNSPECIFIED]: 0,
  [JobState.QUEUED]: 1,
  [JobState.LAUNCHING]: 2,
  [JobState.RUNNING]: 3,
  [JobState.CANCELLING]: 4,
  [JobState.SUCCEEDED]: 5,
  [JobState.FAILED]: 6,
  [JobState.CANCELLED]: 7,
};

function sortValue(row: PointRow, key: SortKey): number | string | undefined {
  switch (key) {
    case "index":
      return row.index;
    case "state":
      return STATE_ORDER[row.state];
    case "estimate":
    case "stderr":
    case "halfWidth":
      return row[key];
    case "samples":
      return row.samples;
    default: {
      const v = row.params[key.slice("param:".length)];
      return typeof v === "number" || typeof v === "string" ? v : typeof v === "boolean" ? Number(v) : undefined;
    }
  }
}

/** The rows in the column's order; rows without a value (no estimate yet) last either way,
 * ties in index order. */
export function sortRows(rows: readonly PointRow[], sort: Sort): PointRow[] {
  const sign = sort.descending ? -1 : 1;
  const keyed = rows.map((row) => ({ row, v: sortValue(row, sort.key) }));
  keyed.sort((a, b) => {
    if (a.v === undefined || b.v === undefined) {
      if (a.v !== b.v) return a.v === undefined ? 1 : -1;
      return a.row.index - b.row.index;
    }
    const c = typeof a.v === "number" && typeof b.v === "number" ? a.v - b.v : String(a.v).localeCompare(String(b.v));
    return c !== 0 ? sign * c : a.row.index - b.row.index;
  });
  return keyed.map((k) => k.row);
}

/** The next sort after a click on a column's header: the same column flips, another starts
 * ascending. */
export function nextSort(current: Sort, key: SortKey): Sort {
  return current.key === key ? { key, descending: !current.descending } : { key, descending: false };
}
