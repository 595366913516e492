import { describe, expect, it } from "vitest";
import { create, toJson } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { ParameterType, StudyDesign, StudySpecSchema } from "../../gen/simlab/v1/simulation_pb";
import { optionModel, study } from "../../test/fake";
import { emptyPrecisionForm } from "../precision";
import {
  axisErrors,
  describeDesign,
  fixedSweep,
  formPath,
  isLogAxis,
  rangeValues,
  roundHalfEven,
  studyFormOf,
  sweepModes,
  sweptParams,
  validateStudy,
  type StudyForm,
  type SweepForm,
} from "./spec";

const model = optionModel();

/** The option model's form with spot fixed at 100 and the given sweeps. */
function form(sweeps: Record<string, Partial<SweepForm>>, over: Partial<StudyForm> = {}): StudyForm {
  const f = studyFormOf(model);
  const all = { ...f.sweeps };
  for (const [name, s] of Object.entries(sweeps)) all[name] = { ...fixedSweep, ...s };
  return { ...f, fixed: { ...f.fixed, spot: "100" }, sweeps: all, ...over };
}

const json = (vs: Value[] | undefined) => (vs ?? []).map((v) => toJson(ValueSchema, v));

describe("validateStudy", () => {
  it("builds a grid spec: fixed parameters, a list and a range as axes in schema order, points = product", () => {
    const v = validateStudy(
      model,
      form({ volatility: { mode: "range", start: "0.1", stop: "0.5", count: "3" }, option_type: { mode: "list", values: "call, put" } }, { seed: "7", shards: "2", crn: true, title: " Smile " }),
    );
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    expect(v.points).toBe(6);
    const spec = v.spec;
    expect(spec).toMatchObject({ model: "european_option", title: "Smile", design: StudyDesign.GRID, points: 0, seed: 7n, crn: true, shards: 2, noCache: false });
    expect(spec.parameters).toEqual({ spot: 100, paths: 1000000, antithetic: false });
    expect(spec.axes?.map((a) => a.parameter)).toEqual(["volatility", "option_type"]);
    expect(spec.axes?.[0]?.kind).toEqual({ case: "range", value: { start: 0.1, stop: 0.5, count: 3, log: false } });
    const list = spec.axes?.[1]?.kind;
    expect(list?.case).toBe("values");
    expect(json(list?.case === "values" ? (list.value.values as Value[]) : undefined)).toEqual(["call", "put"]);
    expect(spec.precision).toBeUndefined();
  });

  it("types list values by the parameter: numbers, choices, flags", () => {
    const v = validateStudy(model, form({ paths: { mode: "list", values: "1000, 20000," }, antithetic: { mode: "list", values: "false, TRUE" } }));
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    const values = v.spec.axes!.map((a) => (a.kind?.case === "values" ? json(a.kind.value.values as Value[]) : null));
    expect(values).toEqual([[1000, 20000], [false, true]]);
    expect(v.points).toBe(4);
  });

  it("names the field of each bad list value, with the gateway's wording", () => {
    const v = validateStudy(model, form({ volatility: { mode: "list", values: "0.2, -1, 0.2, x" } }));
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.errors).toEqual({
      "axes[0].values[1]": "volatility must be > 0 (got -1)",
      "axes[0].values[2]": "volatility 0.2 is values[0] again",
      "axes[0].values[3]": "volatility must be a number (got 'x')",
    });
    // The grid's size is known all the same.
    expect(v.points).toBe(4);
    expect(validateStudy(model, form({ option_type: { mode: "list", values: "call, straddle, call" } }))).toMatchObject({
      errors: { "axes[0].values[1]": "option_type must be one of call, put (got 'straddle')", "axes[0].values[2]": "option_type 'call' is values[0] again" },
    });
    expect(validateStudy(model, form({ antithetic: { mode: "list", values: "yes" } }))).toMatchObject({
      errors: { "axes[0].values[0]": "antithetic must be true or false (got 'yes')" },
    });
    expect(validateStudy(model, form({ volatility: { mode: "list", values: " , " } }))).toMatchObject({ errors: { "axes[0].values": "give at least one value" } });
  });

  it("checks ranges: numbers, bounds, log > 0, count >= 2, start != stop", () => {
    const bad = (s: Partial<SweepForm>) => {
      const v = validateStudy(model, form({ volatility: { mode: "range", ...s } }));
      return v.ok ? {} : v.errors;
    };
    expect(bad({ start: "0.1", stop: "0.5", count: "1" })).toEqual({ "axes[0].range.count": "must be at least 2, got 1" });
    expect(bad({ start: "0.1", stop: "0.5", count: "20000" })).toEqual({ "axes[0].range.count": "must be at most 10,000, the most points a study may have" });
    expect(bad({ start: "0.1", stop: "0.5", count: "2.5" })).toEqual({ "axes[0].range.count": "must be an integer (got '2.5')" });
    expect(bad({ start: "", stop: "9", count: "3" })).toEqual({ "axes[0].range.start": "is required", "axes[0].range.stop": "volatility must be <= 5 (got 9)" });
    expect(bad({ start: "0", stop: "1", count: "3" })).toEqual({ "axes[0].range.start": "volatility must be > 0 (got 0)" });
    expect(bad({ start: "abc", stop: "1", count: "3" })).toEqual({ "axes[0].range.start": "must be a number (got 'abc')" });
    expect(bad({ start: "0.3", stop: "0.3", count: "3" })).toEqual({ "axes[0].range": "start and stop are equal: hold volatility fixed in spec.parameters instead" });
    const logModel = { ...form({ paths: { mode: "range", start: "-5", stop: "1000", count: "3", log: true } }) };
    expect(validateStudy(model, logModel)).toMatchObject({ errors: { "axes[0].range.start": "must be > 0 in a log range, got -5" } });
  });

  it("refuses an integer range that rounds to repeated values, naming the axis's count", () => {
    const v = validateStudy(model, form({ paths: { mode: "range", start: "1", stop: "3", count: "5" } }));
    expect(v).toMatchObject({ ok: false, errors: { "axes[0].range": "paths takes whole numbers: 5 points from 1 to 3 round to only 3 different ones; ask for fewer" } });
    expect(validateStudy(model, form({ paths: { mode: "range", start: "1000", stop: "100000", count: "3", log: true } })).ok).toBe(true);
  });

  it("sampled designs: every axis a range, `points` in [1, 10,000], the range count ignored", () => {
    const sobol = form({ volatility: { mode: "range", start: "0.1", stop: "0.5", count: "" }, spot: { mode: "range", start: "80", stop: "120" } }, { design: "sobol", points: "128" });
    const v = validateStudy(model, sobol);
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    expect(v.points).toBe(128);
    expect(v.spec).toMatchObject({ design: StudyDesign.SOBOL, points: 128 });
    expect(v.spec.axes?.map((a) => a.parameter)).toEqual(["spot", "volatility"]);
    expect(v.spec.axes?.[1]?.kind).toEqual({ case: "range", value: { start: 0.1, stop: 0.5, count: 0, log: false } });

    const withList = validateStudy(model, form({ volatility: { mode: "list", values: "0.1" } }, { design: "random", points: "0" }));
    expect(withList).toMatchObject({
      ok: false,
      errors: { "axes[0].values": "a random design draws its points within ranges: give spec.axes[0].range", points: "a random design draws 1 to 10,000 points; got 0" },
    });
  });

  it("needs an axis, at most 10,000 points in all, and a title of at most 200 characters", () => {
    expect(validateStudy(model, form({}))).toMatchObject({ ok: false, errors: { axes: "sweep at least one parameter" } });
    const big = validateStudy(model, form({ spot: { mode: "range", start: "50", stop: "150", count: "101" }, volatility: { mode: "range", start: "0.1", stop: "1", count: "100" } }));
    expect(big).toMatchObject({ ok: false, points: 10_100, errors: { axes: "the grid has 101 x 100 = 10,100 points; a study has at most 10,000" } });
    expect(validateStudy(model, form({ volatility: { mode: "list", values: "0.2" } }, { title: "t".repeat(201) }))).toMatchObject({
      errors: { title: "must be at most 200 characters, got 201" },
    });
  });

  it("checks the fixed parameters, seed, shards and the precision target as the run form does", () => {
    const v = validateStudy(
      model,
      form(
        { volatility: { mode: "list", values: "0.2" } },
        { fixed: { ...studyFormOf(model).fixed, spot: "" }, seed: "-3", shards: "0", precision: { ...emptyPrecisionForm, enabled: true } },
      ),
    );
    expect(v).toMatchObject({
      ok: false,
      errors: {
        "parameters.spot": "is required",
        seed: "must be a whole number >= 0 (got '-3')",
        shards: "must be >= 1 (got 0)",
        "precision.rel_tol": "set a relative or an absolute tolerance (or both)",
      },
    });
    const ok = validateStudy(model, form({ volatility: { mode: "list", values: "0.2" } }, { precision: { ...emptyPrecisionForm, enabled: true, relTol: "0.01" }, reuseCache: false }));
    expect(ok).toMatchObject({ ok: true, spec: { precision: { relTol: 0.01, confidence: 0.95 }, noCache: true } });
  });
});

describe("the form's helpers", () => {
  it("offers a range only for numbers, and keeps the schema's order of swept parameters", () => {
    const byName = (n: string) => model.parameters.find((p) => p.name === n)!;
    expect(sweepModes(byName("volatility"))).toEqual(["fixed", "list", "range"]);
    expect(sweepModes(byName("option_type"))).toEqual(["fixed", "list"]);
    expect(byName("antithetic").type).toBe(ParameterType.BOOL);
    const f = form({ paths: { mode: "list" }, spot: { mode: "range" } });
    expect(sweptParams(model, f).map((p) => p.name)).toEqual(["spot", "paths"]);
  });

  it("spaces range values as the gateway does: linear, geometric, integers rounded half to even", () => {
    expect(rangeValues(0, 1, 5, false, false)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const geo = rangeValues(1, 100, 3, true, false);
    expect(geo[1]).toBeCloseTo(10, 12);
    expect(geo[2]).toBe(100);
    expect(rangeValues(1, 4, 3, false, true)).toEqual([1, 2, 4]);
    expect([0.5, 1.5, 2.5, -0.5, 2.4].map(roundHalfEven)).toEqual([0, 2, 2, -0, 2]);
  });

  it("puts the server's errors of an axis on its row", () => {
    const errors = {
      "axes[1].values[3]": "volatility must be > 0",
      "axes[1].range.count": "must be at least 2",
      "axes[0]": "must be a range",
      "axes[10].range.start": "is required",
    };
    expect(axisErrors(errors, 1)).toEqual({ values: "value 4: volatility must be > 0", count: "must be at least 2" });
    expect(axisErrors({ "axes[2].range": "start and stop are equal", "axes[2].parameter": "unknown" }, 2)).toEqual({ axis: "start and stop are equal" });
    expect(axisErrors(errors, 0)).toEqual({ axis: "must be a range" });
    expect(axisErrors(errors, 10)).toEqual({ start: "is required" });
    expect(formPath("spec.axes[1].range.count")).toBe("axes[1].range.count");
    expect(formPath("spec")).toBe("spec");
    expect(formPath("request_id")).toBe("request_id");
  });
});

describe("describing a submitted study", () => {
  it("names its design and its log axes", () => {
    const spec = study().spec!;
    expect(describeDesign(spec)).toBe("Grid 3 × 2");
    expect(describeDesign({ ...spec, design: StudyDesign.SOBOL, points: 1024 })).toBe("Sobol, 1,024 points");
    expect(isLogAxis(spec, "volatility")).toBe(false);
    const log = validateStudy(model, form({ paths: { mode: "range", start: "1000", stop: "100000", count: "3", log: true } }));
    expect(log.ok && isLogAxis(create(StudySpecSchema, log.spec), "paths")).toBe(true);
  });
});
