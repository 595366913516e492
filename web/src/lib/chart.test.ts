import { describe, expect, it } from "vitest";
import { parseChart } from "./chart";

describe("parseChart", () => {
  it("reads the worker's chart.json", () => {
    const c = parseChart({
      title: "European option",
      primary: { name: "price", label: "Option price", unit: "currency" },
      reference: { name: "bs_price", label: "Black-Scholes price", unit: "currency", value: 10.45 },
      convergence: { samples: [1, 2], estimate: [10, 10.4], stderr: [null, 0.1] },
      histograms: [{ name: "terminal", label: "Price at maturity", unit: "currency", edges: [0, 1, 2], counts: [3, 4], below: 0, above: 1 }],
    });
    expect(c.convergence).toMatchObject({ samples: [1, 2], estimate: [10, 10.4], label: "Option price", unit: "currency", reference: 10.45, referenceLabel: "Black-Scholes price" });
    expect(c.convergence!.stderr[0]).toBeNaN();
    expect(c.histograms).toEqual([{ name: "terminal", label: "Price at maturity", unit: "currency", edges: [0, 1, 2], counts: [3, 4] }]);
  });
  it("tolerates missing parts and bin centres", () => {
    expect(parseChart(null)).toEqual({ histograms: [] });
    const c = parseChart({ histograms: { wait: { centers: [0.5, 1.5], counts: [1, 2] } } });
    expect(c.histograms[0]).toMatchObject({ name: "wait", edges: [0, 1, 2] });
    expect(c.convergence).toBeUndefined();
  });
});
