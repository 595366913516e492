import { describe, expect, it } from "vitest";
import { donePoint, studyPoint } from "../../test/fake";
import { heatmap, lineChart, MAX_LINES, sweptValues } from "./chart";
import { rowsOf } from "./points";

// study(): volatility (0.1, 0.2, 0.3) slowest x option_type (call, put).
const rows = rowsOf(
  [donePoint(0, 1, 0.1), donePoint(1, 2, 0.1), donePoint(2, 3, 0.1), studyPoint(3), donePoint(4, 5, 0.2), donePoint(5, 6, 0.2)],
  0.95,
);

describe("lineChart", () => {
  it("draws the estimate against one swept parameter, a line per value of the others", () => {
    const chart = lineChart(rows, "volatility", ["volatility", "option_type"]);
    expect(chart.cloud).toBe(false);
    expect(chart.series.map((s) => s.name)).toEqual(["option_type = call", "option_type = put"]);
    const [call, put] = chart.series;
    expect(call).toMatchObject({ x: [0.1, 0.2, 0.3], y: [1, 3, 5], index: [0, 2, 4] });
    // The put at 0.2 has no estimate yet.
    expect(put).toMatchObject({ x: [0.1, 0.3], y: [2, 6], index: [1, 5] });
    expect(call!.halfWidth[0]).toBeCloseTo(0.196, 3);
  });

  it("orders the lines by the values they hold", () => {
    const rs = rowsOf(
      [0.2, 0.15, 0.25, 0.1].map((v, i) => {
        const p = donePoint(i, i, 0.1);
        p.parameters = { x: 1, volatility: v };
        return p;
      }),
      0.95,
    );
    expect(lineChart(rs, "x", ["x", "volatility"]).series.map((s) => s.name)).toEqual(["volatility = 0.1", "volatility = 0.15", "volatility = 0.2", "volatility = 0.25"]);
  });

  it("with one swept parameter, one unnamed line; a choice on the x axis as text", () => {
    expect(lineChart(rows, "volatility", ["volatility"]).series.map((s) => [s.name, s.x.length])).toEqual([["", 5]]);
    const byType = lineChart(rows, "option_type", ["volatility", "option_type"]);
    expect(byType.series[0]).toMatchObject({ name: "volatility = 0.1", x: ["call", "put"], y: [1, 2] });
  });

  it("draws one cloud of dots when the other parameters have too many combinations", () => {
    const many = rowsOf(
      Array.from({ length: 40 }, (_, i) => {
        const p = donePoint(i, i, 0.1);
        p.parameters = { x: i % 4, y: i };
        return p;
      }),
      0.95,
    );
    const chart = lineChart(many, "x", ["x", "y"]);
    expect(MAX_LINES).toBeLessThan(40);
    expect(chart.cloud).toBe(true);
    expect(chart.series).toHaveLength(1);
    expect(chart.series[0]!.x).toHaveLength(40);
  });
});

describe("heatmap", () => {
  it("puts a grid's estimates in cells over two swept parameters (null: not known yet)", () => {
    const h = heatmap(rows, "option_type", "volatility", { grid: true, swept: ["volatility", "option_type"] });
    expect(h).toEqual({
      kind: "grid",
      xValues: ["call", "put"],
      yValues: [0.1, 0.2, 0.3],
      z: [
        [1, 2],
        [3, null],
        [5, 6],
      ],
      halfWidth: expect.any(Array),
      index: [
        [0, 1],
        [2, 3],
        [4, 5],
      ],
    });
  });

  it("holds the other swept parameters at a slice (their first value by default)", () => {
    const three = rowsOf(
      Array.from({ length: 8 }, (_, i) => {
        const p = donePoint(i, i, 0.1);
        p.parameters = { a: i >> 2, b: (i >> 1) & 1, c: i & 1 };
        return p;
      }),
      0.95,
    );
    const first = heatmap(three, "b", "c", { grid: true, swept: ["a", "b", "c"] });
    expect(first.kind === "grid" && first.z).toEqual([
      [0, 2],
      [1, 3],
    ]);
    const second = heatmap(three, "b", "c", { grid: true, swept: ["a", "b", "c"], slice: { a: 1 } });
    expect(second.kind === "grid" && second.z).toEqual([
      [4, 6],
      [5, 7],
    ]);
    expect(sweptValues(three, "a")).toEqual([0, 1]);
  });

  it("gives a sampled design's points as dots at their values", () => {
    const h = heatmap(rows, "volatility", "option_type", { grid: false, swept: ["volatility", "option_type"] });
    expect(h).toEqual({ kind: "scatter", x: [0.1, 0.1, 0.2, 0.3, 0.3], y: ["call", "put", "call", "call", "put"], z: [1, 2, 3, 5, 6], index: [0, 1, 2, 4, 5] });
  });
});
