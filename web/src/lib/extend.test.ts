import { describe, expect, it } from "vitest";
import { JobState } from "../gen/simlab/v1/simulation_pb";
import { job } from "../test/fake";
import { extendFormOf, validateExtend } from "./extend";

const plain = job({ jobId: "src", state: JobState.SUCCEEDED });
const precise = job({ jobId: "src", state: JobState.SUCCEEDED, precision: { relTol: 0.001, confidence: 0.99, minBlocks: 12, twoStage: true } });

describe("validateExtend", () => {
  it("starts from the run's tolerances and no new budget", () => {
    expect(extendFormOf(precise)).toEqual({ samples: "", relTol: "0.001", absTol: "" });
    expect(extendFormOf(plain)).toEqual({ samples: "", relTol: "", absTol: "" });
  });

  it("sends a new budget alone, keeping the run's precision", () => {
    expect(validateExtend(precise, { ...extendFormOf(precise), samples: "4e7" }, "r1")).toEqual({
      ok: true,
      value: { jobId: "src", samples: 40_000_000n, requestId: "r1" },
    });
  });

  it("sends a tighter tolerance with the run's confidence, pilot and mode", () => {
    expect(validateExtend(precise, { samples: "", relTol: "1e-4", absTol: "" }, "r2")).toEqual({
      ok: true,
      value: { jobId: "src", samples: 0n, requestId: "r2", precision: { relTol: 0.0001, absTol: 0, confidence: 0.99, minBlocks: 12, twoStage: true } },
    });
  });

  it("gives a run without a target one with the defaults", () => {
    expect(validateExtend(plain, { samples: "2000000", relTol: "", absTol: "0.01" }, "r3")).toMatchObject({
      ok: true,
      value: { samples: 2_000_000n, precision: { relTol: 0, absTol: 0.01, confidence: 0.95, minBlocks: 10, twoStage: false } },
    });
  });

  it("asks for a change and names bad fields", () => {
    expect(validateExtend(precise, extendFormOf(precise), "r")).toEqual({ ok: false, errors: { samples: "give a new sample budget or a tighter tolerance" } });
    expect(validateExtend(plain, { samples: "1.5", relTol: "", absTol: "" }, "r")).toEqual({ ok: false, errors: { samples: "must be a whole number of samples (got '1.5')" } });
    expect(validateExtend(plain, { samples: "0", relTol: "", absTol: "" }, "r")).toEqual({ ok: false, errors: { samples: "must be >= 1 (got 0)" } });
    expect(validateExtend(precise, { samples: "10", relTol: "", absTol: "" }, "r")).toEqual({
      ok: false,
      errors: { "precision.rel_tol": "set a relative or an absolute tolerance (or both)" },
    });
  });
});
