import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PrecisionSchema } from "../gen/simlab/v1/simulation_pb";
import {
  describePrecision,
  emptyPrecisionForm,
  halfWidthVsTarget,
  precisionFormOf,
  sampleRate,
  targetBand,
  timeToTarget,
  toleranceAt,
  validatePrecision,
} from "./precision";

const on = { ...emptyPrecisionForm, enabled: true };

describe("validatePrecision", () => {
  it("gives no precision while the section is off, whatever it holds", () => {
    expect(validatePrecision({ ...emptyPrecisionForm, relTol: "oops" })).toEqual({ ok: true, value: undefined });
  });

  it("fills the defaults (95 %, 10 pilot blocks, sequential)", () => {
    expect(validatePrecision({ ...on, absTol: "0.01" })).toEqual({
      ok: true,
      value: { relTol: 0, absTol: 0.01, confidence: 0.95, minBlocks: 10, twoStage: false },
    });
  });

  it("reads the confidence as a fraction or a percentage", () => {
    const v = validatePrecision({ ...on, relTol: "1e-3", confidence: "99%", minBlocks: "20", twoStage: true });
    expect(v).toEqual({ ok: true, value: { relTol: 0.001, absTol: 0, confidence: 0.99, minBlocks: 20, twoStage: true } });
    expect(validatePrecision({ ...on, relTol: "1e-3", confidence: "0.9" })).toMatchObject({ ok: true, value: { confidence: 0.9 } });
  });

  it("asks for a tolerance", () => {
    expect(validatePrecision(on)).toEqual({ ok: false, errors: { "precision.rel_tol": "set a relative or an absolute tolerance (or both)" } });
  });

  it("names each bad field with the server's path", () => {
    const v = validatePrecision({ ...on, relTol: "0", absTol: "x", confidence: "1", minBlocks: "1" });
    expect(v).toEqual({
      ok: false,
      errors: {
        "precision.rel_tol": "must be > 0 (got 0)",
        "precision.abs_tol": "must be a number (got 'x')",
        "precision.confidence": "must be in (0, 1), got 1",
        "precision.min_blocks": "must be in [2, 1,000,000], got 1",
      },
    });
    expect(validatePrecision({ ...on, relTol: "-0.1" })).toEqual({ ok: false, errors: { "precision.rel_tol": "must be > 0 (got -0.1)" } });
    expect(validatePrecision({ ...on, absTol: "1", minBlocks: "2.5" })).toEqual({ ok: false, errors: { "precision.min_blocks": "must be an integer (got '2.5')" } });
  });

  it("round-trips a run's precision through the form", () => {
    const p = create(PrecisionSchema, { relTol: 0.001, confidence: 0.99, minBlocks: 10, twoStage: true });
    const form = precisionFormOf(p);
    expect(form).toEqual({ enabled: true, relTol: "0.001", absTol: "", confidence: "0.99", minBlocks: "", twoStage: true });
    expect(validatePrecision(form)).toEqual({ ok: true, value: { relTol: 0.001, absTol: 0, confidence: 0.99, minBlocks: 10, twoStage: true } });
    expect(precisionFormOf(undefined)).toEqual(emptyPrecisionForm);
  });
});

describe("the target band", () => {
  const p = create(PrecisionSchema, { relTol: 0.01, absTol: 0.05 });

  it("is max(abs_tol, rel_tol · |estimate|) around the estimate", () => {
    expect(toleranceAt(p, 2)).toBe(0.05);
    expect(toleranceAt(p, -10)).toBe(0.1);
    expect(targetBand(p, 10)).toEqual({ center: 10, tolerance: 0.1, lo: 9.9, hi: 10.1 });
  });

  it("is absent without a precision, an estimate or a tolerance", () => {
    expect(targetBand(undefined, 10)).toBeUndefined();
    expect(targetBand(p, undefined)).toBeUndefined();
    expect(targetBand(p, NaN)).toBeUndefined();
    expect(targetBand(create(PrecisionSchema, { relTol: 0.01 }), 0)).toBeUndefined();
  });
});

describe("time to target", () => {
  it("says the samples needed and the time left at the observed rate", () => {
    expect(timeToTarget({ samplesToTarget: 2_400_000n, samplesDone: 400_000n, samplesTotal: 10_000_000n }, 100_000)).toBe("≈ 2.4M samples to target, ~20.0 s left");
    expect(timeToTarget({ samplesToTarget: 2_400_000n, samplesDone: 400_000n, samplesTotal: 10_000_000n }, 1000)).toBe("≈ 2.4M samples to target, ~33m 20s left");
  });

  it("leaves the time out until a rate is known", () => {
    expect(timeToTarget({ samplesToTarget: 5000n, samplesDone: 100n, samplesTotal: 10_000n }, undefined)).toBe("≈ 5,000 samples to target");
  });

  it("says when the target lies past the budget, or is nearly met", () => {
    expect(timeToTarget({ samplesToTarget: 50_000_000n, samplesDone: 1n, samplesTotal: 10_000_000n }, 1e6)).toBe("≈ 50M samples to target: more than the budget of 10M");
    expect(timeToTarget({ samplesToTarget: 900n, samplesDone: 1000n, samplesTotal: 10_000n }, 1e3)).toBe("≈ 900 samples to target, almost there");
  });

  it("is absent while not known", () => {
    expect(timeToTarget({ samplesToTarget: 0n, samplesDone: 100n, samplesTotal: 1000n }, 10)).toBeUndefined();
  });

  it("measures the rate between two observations", () => {
    expect(sampleRate({ atMs: 1000, samples: 0 }, { atMs: 3000, samples: 500 })).toBe(250);
    expect(sampleRate({ atMs: 1000, samples: 10 }, { atMs: 1000, samples: 20 })).toBeUndefined();
    expect(sampleRate({ atMs: 1000, samples: 10 }, { atMs: 2000, samples: 10 })).toBeUndefined();
  });
});

describe("the stop line", () => {
  it("sets the half-width against the target at the confidence", () => {
    expect(halfWidthVsTarget(0.0098, 0.01, 0.95)).toBe("±0.0098 (target ±0.01) at 95 %");
    expect(halfWidthVsTarget(undefined, undefined, 0)).toBe("— at 95 %");
    expect(halfWidthVsTarget(1, 2, 0.999)).toBe("±1 (target ±2) at 99.9 %");
  });
});

describe("describePrecision", () => {
  it("says the target, confidence, mode and pilot", () => {
    expect(describePrecision(create(PrecisionSchema, { relTol: 0.001 }))).toBe("±0.1 % of |estimate| at 95 %, sequential, pilot 10 blocks");
    expect(describePrecision(create(PrecisionSchema, { relTol: 0.07, absTol: 0.01, confidence: 0.99, minBlocks: 20, twoStage: true }))).toBe(
      "±7 % of |estimate| or ±0.01 (the larger) at 99 %, two-stage, pilot 20 blocks",
    );
  });
});
