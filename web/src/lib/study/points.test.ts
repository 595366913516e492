import { describe, expect, it } from "vitest";
import { JobState, StopReason } from "../../gen/simlab/v1/simulation_pb";
import { donePoint, studyPoint } from "../../test/fake";
import { mergePoints, nextSort, rowOf, rowsOf, sortRows, zOf, type PointSlots } from "./points";
import { normalQuantile } from "./stats";

describe("mergePoints", () => {
  it("places points by index and keeps the highest seq of each", () => {
    let slots: PointSlots = [];
    slots = mergePoints(slots, [studyPoint(2, { seq: 3n, state: JobState.RUNNING }), studyPoint(0)]);
    expect(slots.map((p) => p?.index)).toEqual([0, undefined, 2]);
    // An older event of point 2 (a late snapshot page, a reconnect's snapshot) changes nothing.
    const same = mergePoints(slots, [studyPoint(2, { seq: 2n, state: JobState.QUEUED }), studyPoint(0)]);
    expect(same).toBe(slots);
    const newer = mergePoints(slots, [studyPoint(2, { seq: 4n, state: JobState.SUCCEEDED })]);
    expect(newer).not.toBe(slots);
    expect(newer[2]?.state).toBe(JobState.SUCCEEDED);
    // The array given is never changed.
    expect(slots[2]?.state).toBe(JobState.RUNNING);
  });

  it("takes the newest of one point seen twice in the same batch", () => {
    const slots = mergePoints([], [studyPoint(1, { seq: 5n, state: JobState.RUNNING }), studyPoint(1, { seq: 4n }), studyPoint(1, { seq: 6n, state: JobState.FAILED })]);
    expect(slots[1]?.seq).toBe(6n);
  });
});

describe("rows", () => {
  it("gives each point its interval: the stop's half-width, else z * stderr", () => {
    const plain = rowOf(donePoint(0, 10, 0.5), zOf(0.95));
    expect(plain.halfWidth).toBeCloseTo(1.959964 * 0.5, 5);
    expect(plain).toMatchObject({ index: 0, jobId: "job-p0", estimate: 10, stderr: 0.5, samples: 100000, state: JobState.SUCCEEDED });
    const stopped = donePoint(1, 10, 0.5);
    stopped.stop = { $typeName: "simlab.v1.StopInfo", reason: StopReason.PRECISION_REACHED, firstBlock: 0n, endBlock: 8n, samplesUsed: 80000n, halfWidth: 0.7, confidence: 0.9, blocksDiscarded: 0n };
    expect(rowOf(stopped, zOf(0.95))).toMatchObject({ halfWidth: 0.7, stopReason: StopReason.PRECISION_REACHED });
    const queued = rowOf(studyPoint(2), zOf(0.95));
    expect(queued.estimate).toBeUndefined();
    expect(queued.halfWidth).toBeUndefined();
    expect(rowsOf([undefined, donePoint(1, 1, 0.1)], 0.99).map((r) => r.index)).toEqual([1]);
  });

  it("uses the normal quantile of the confidence", () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.995)).toBeCloseTo(2.575829304, 8);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326347874, 8);
    expect(normalQuantile(0.5)).toBe(0);
    expect(zOf(0.9)).toBeCloseTo(1.644853627, 8);
  });
});

describe("sortRows", () => {
  const rows = rowsOf([donePoint(0, 3, 0.1), studyPoint(1, { state: JobState.RUNNING }), donePoint(2, 1, 0.3), donePoint(3, 2, 0.2), studyPoint(4)], 0.95);

  it("sorts by a number column either way, with rows that have none last", () => {
    expect(sortRows(rows, { key: "estimate", descending: false }).map((r) => r.index)).toEqual([2, 3, 0, 1, 4]);
    expect(sortRows(rows, { key: "estimate", descending: true }).map((r) => r.index)).toEqual([0, 3, 2, 1, 4]);
    expect(sortRows(rows, { key: "stderr", descending: false }).map((r) => r.index)).toEqual([0, 3, 2, 1, 4]);
  });

  it("sorts by state in the order a point goes through them, then by index", () => {
    expect(sortRows(rows, { key: "state", descending: false }).map((r) => r.index)).toEqual([4, 1, 0, 2, 3]);
  });

  it("sorts by a swept parameter, numbers as numbers and choices as text", () => {
    expect(sortRows(rows, { key: "param:volatility", descending: true }).map((r) => r.index)).toEqual([4, 2, 3, 0, 1]);
    expect(sortRows(rows, { key: "param:option_type", descending: false }).map((r) => r.index)).toEqual([0, 2, 4, 1, 3]);
  });

  it("flips the column clicked again, starts another ascending", () => {
    expect(nextSort({ key: "index", descending: false }, "index")).toEqual({ key: "index", descending: true });
    expect(nextSort({ key: "index", descending: true }, "estimate")).toEqual({ key: "estimate", descending: false });
  });
});
