import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ParameterSchema, ParameterType } from "../gen/simlab/v1/simulation_pb";
import { defaultValues, parseField, runFormDefaults, validateForm, valuesFrom } from "./params";
import { optionModel } from "../test/fake";

const model = optionModel();
const param = (name: string) => model.parameters.find((p) => p.name === name)!;

describe("parseField mirrors the server's messages", () => {
  it("exclusive minimum", () => {
    expect(parseField(param("spot"), "-1")).toEqual({ error: "must be > 0 (got -1)" });
    expect(parseField(param("spot"), "0")).toEqual({ error: "must be > 0 (got 0)" });
    expect(parseField(param("spot"), "0.5")).toEqual({ value: 0.5 });
  });
  it("inclusive maximum and integers", () => {
    expect(parseField(param("paths"), "0")).toEqual({ error: "must be >= 1 (got 0)" });
    expect(parseField(param("paths"), "1.5")).toEqual({ error: "must be an integer (got 1.5)" });
    expect(parseField(param("paths"), "2e10")).toEqual({ error: "must be <= 10000000000 (got 20000000000)" });
    expect(parseField(param("paths"), "1e6")).toEqual({ value: 1000000 });
    expect(parseField(param("volatility"), "5")).toEqual({ value: 5 });
  });
  it("exclusive maximum", () => {
    const p = create(ParameterSchema, { name: "p", type: ParameterType.FLOAT, maximum: 1, exclusiveMaximum: true });
    expect(parseField(p, "1")).toEqual({ error: "must be < 1 (got 1)" });
  });
  it("not a number, not finite, required, default", () => {
    expect(parseField(param("volatility"), "abc")).toEqual({ error: "must be a number (got 'abc')" });
    expect(parseField(param("paths"), "abc")).toEqual({ error: "must be an integer (got 'abc')" });
    expect(parseField(param("volatility"), "inf").error).toMatch(/must be finite/);
    expect(parseField(param("spot"), "")).toEqual({ error: "is required" });
    expect(parseField(param("volatility"), " ")).toEqual({ value: 0.2 });
  });
  it("choices and booleans", () => {
    expect(parseField(param("option_type"), "straddle")).toEqual({ error: "must be one of call, put (got 'straddle')" });
    expect(parseField(param("option_type"), "put")).toEqual({ value: "put" });
    expect(parseField(param("antithetic"), true)).toEqual({ value: true });
  });
});

describe("the whole form", () => {
  it("fills defaults and reports errors by field path", () => {
    const values = defaultValues(model);
    expect(values).toEqual({ spot: "", volatility: "0.2", option_type: "call", paths: "1000000", antithetic: false });
    const r = validateForm(model, { model: model.name, values, rows: [], args: "", seed: "x", shards: "0", ...runFormDefaults });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toEqual({
        "parameters.spot": "is required",
        seed: "must be a whole number >= 0 (got 'x')",
        shards: "must be >= 1 (got 0)",
      });
    }
  });
  it("gives typed parameters, a bigint seed and shards", () => {
    const values = { ...defaultValues(model), spot: "100" };
    const r = validateForm(model, { model: model.name, values, rows: [], args: "", seed: "18446744073709551615", shards: "4", ...runFormDefaults });
    expect(r).toEqual({
      ok: true,
      value: {
        model: "european_option",
        parameters: { spot: 100, volatility: 0.2, option_type: "call", paths: 1000000, antithetic: false },
        seed: 18446744073709551615n,
        shards: 4,
        args: [],
        noCache: false,
      },
    });
    const over = validateForm(model, { model: model.name, values, rows: [], args: "", seed: "18446744073709551616", shards: "", ...runFormDefaults });
    expect(over.ok).toBe(false);
  });
  it("adds a precision target and the cache choice of a blocks model, naming bad fields", () => {
    const values = { ...defaultValues(model), spot: "100" };
    const base = { model: model.name, values, rows: [], args: "", seed: "7", shards: "1" };
    const precision = { ...runFormDefaults.precision, enabled: true, relTol: "1e-3" };
    expect(validateForm(model, { ...base, precision, reuseCache: false })).toMatchObject({
      ok: true,
      value: { precision: { relTol: 0.001, absTol: 0, confidence: 0.95, minBlocks: 10, twoStage: false }, noCache: true },
    });
    expect(validateForm(model, { ...base, precision: { ...precision, confidence: "2" }, reuseCache: true })).toEqual({
      ok: false,
      errors: { "precision.confidence": "must be in (0, 1), got 2" },
    });
  });
  it("prefills from a previous run", () => {
    expect(valuesFrom(model, { spot: 90, option_type: "put", antithetic: true })).toMatchObject({
      spot: "90",
      option_type: "put",
      antithetic: true,
      volatility: "0.2",
    });
  });
});
