// The parameter form: typed values from a model's schema, and client-side validation that
// mirrors the server's (libs/runtime/src/simlab/core/params.py) message for message.
import { toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ParameterType, type Model, type Parameter } from "../gen/simlab/v1/simulation_pb";
import { isScript, modelRef } from "./models";
import { DECIMAL_TEXT } from "./numbers";
import { emptyPrecisionForm, validatePrecision, type PrecisionForm, type PrecisionInit } from "./precision";
import { parseParamRows, splitArgs, type ParamRow } from "./script";

/** What a field holds while being edited: text for numbers, the choice, or a checkbox. */
export type FieldValue = string | boolean;
export type FormValues = Record<string, FieldValue>;
/** Field path ("parameters.x", "seed", "shards", "model", "args"; "rows.<i>" for a row of a
 * script's parameters) -> message without the path. */
export type FieldErrors = Record<string, string>;

export interface RunForm {
  /** The version the form is for: "name@vN". */
  model: string;
  /** A blocks model's parameters, by its schema. */
  values: FormValues;
  /** A script model's free-form parameters and its command-line arguments. */
  rows: ParamRow[];
  args: string;
  seed: string;
  shards: string;
  /** A blocks model's "Stop at precision" section. */
  precision: PrecisionForm;
  /** Off: run even when a finished run with the same fingerprint could be reused. */
  reuseCache: boolean;
}

export const runFormDefaults = { precision: emptyPrecisionForm, reuseCache: true } as const;

export function defaultOf(param: Parameter): JsonValue | undefined {
  if (!param.default) return undefined;
  const v = toJson(ValueSchema, param.default);
  return v === null ? undefined : v;
}

function toField(param: Parameter, value: JsonValue | undefined): FieldValue {
  if (param.type === ParameterType.BOOL) return value === true;
  if (value === undefined || value === null) return "";
  return String(value);
}

/** The form as the model's defaults fill it. */
export function defaultValues(model: Model): FormValues {
  const out: FormValues = {};
  for (const p of model.parameters) out[p.name] = toField(p, defaultOf(p));
  return out;
}

/** The form of a previous run or preset: its parameters over the model's defaults. */
export function valuesFrom(model: Model, given: JsonObject | undefined): FormValues {
  const out = defaultValues(model);
  for (const p of model.parameters) {
    const v = given?.[p.name];
    if (v !== undefined) out[p.name] = toField(p, v);
  }
  return out;
}

export function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : String(x);
}

function pyRepr(v: FieldValue): string {
  return typeof v === "string" ? `'${v}'` : v ? "True" : "False";
}

/** Parses one field; returns the typed value or an error message (server wording). */
export function parseField(
  param: Parameter,
  raw: FieldValue | undefined,
): { value?: JsonValue; error?: string } {
  if (param.type === ParameterType.BOOL) return { value: raw === true };
  const text = typeof raw === "string" ? raw.trim() : "";
  if (text === "") {
    const d = defaultOf(param);
    return d === undefined ? { error: "is required" } : { value: d };
  }
  if (param.type === ParameterType.CHOICE) {
    if (!param.choices.includes(text)) {
      return { error: `must be one of ${param.choices.join(", ")} (got '${text}')` };
    }
    return { value: text };
  }
  const isInt = param.type === ParameterType.INT;
  const n = DECIMAL_TEXT.test(text) ? Number(text) : NaN;
  if (Number.isNaN(n)) {
    if (/^[+-]?(inf|infinity)$/i.test(text)) return { error: `must be finite (got ${text})` };
    return { error: `must be ${isInt ? "an integer" : "a number"} (got ${pyRepr(text)})` };
  }
  if (!Number.isFinite(n)) return { error: `must be finite (got ${text})` };
  if (isInt && !Number.isInteger(n)) return { error: `must be an integer (got ${text})` };
  const outside = boundsError(param, n);
  return outside ? { error: outside } : { value: n };
}

/** Why `n` is outside the parameter's bounds (server wording), or undefined. */
export function boundsError(param: Parameter, n: number): string | undefined {
  const lo = param.minimum;
  const hi = param.maximum;
  if (lo !== undefined && (param.exclusiveMinimum ? n <= lo : n < lo)) {
    return `must be ${param.exclusiveMinimum ? ">" : ">="} ${fmt(lo)} (got ${fmt(n)})`;
  }
  if (hi !== undefined && (param.exclusiveMaximum ? n >= hi : n > hi)) {
    return `must be ${param.exclusiveMaximum ? "<" : "<="} ${fmt(hi)} (got ${fmt(n)})`;
  }
  return undefined;
}

const UINT64_MAX = (1n << 64n) - 1n;

export interface ValidForm {
  model: string;
  parameters: JsonObject;
  seed: bigint;
  shards: number;
  args: string[];
  precision?: PrecisionInit;
  noCache: boolean;
}

/** Checks the whole form; errors are keyed by the server's field paths. */
export function validateForm(
  model: Model,
  form: RunForm,
): { ok: true; value: ValidForm } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  let parameters: JsonObject = {};
  let args: string[] = [];
  const script = isScript(model);
  if (script) {
    // A script has no schema: any JSON object, and its arguments.
    const rows = parseParamRows(form.rows);
    if (rows.ok) parameters = rows.value;
    else for (const [i, msg] of Object.entries(rows.errors)) errors[`rows.${i}`] = msg;
    const split = splitArgs(form.args);
    if (split.ok) args = split.args;
    else errors.args = split.error;
  } else {
    for (const p of model.parameters) {
      const r = parseField(p, form.values[p.name]);
      if (r.error !== undefined) errors[`parameters.${p.name}`] = r.error;
      else if (r.value !== undefined) parameters[p.name] = r.value;
    }
  }
  // A precision target is for blocks models only (a script has no blocks).
  const target = script ? ({ ok: true, value: undefined } as const) : validatePrecision(form.precision);
  if (!target.ok) Object.assign(errors, target.errors);
  const seed = parseSeed(form.seed);
  if (seed.error !== undefined) errors.seed = seed.error;
  // A script runs as one process.
  const shards: ReturnType<typeof parseShards> = script ? { value: 1 } : parseShards(form.shards);
  if (shards.error !== undefined) errors.shards = shards.error;
  if (Object.keys(errors).length > 0 || seed.value === undefined || shards.value === undefined) return { ok: false, errors };
  const precision = target.ok ? target.value : undefined;
  return {
    ok: true,
    value: {
      model: modelRef(model),
      parameters,
      seed: seed.value,
      shards: shards.value,
      args,
      ...(precision ? { precision } : {}),
      noCache: !form.reuseCache,
    },
  };
}

/** The seed field: empty is 0 (the server draws one). */
export function parseSeed(text: string): { value: bigint; error?: never } | { error: string; value?: never } {
  const t = text.trim();
  if (t === "") return { value: 0n };
  if (!/^\d+$/.test(t)) return { error: `must be a whole number >= 0 (got '${t}')` };
  if (BigInt(t) > UINT64_MAX) return { error: "must be < 2^64" };
  return { value: BigInt(t) };
}

/** The shards field: empty is 1. */
export function parseShards(text: string): { value: number; error?: never } | { error: string; value?: never } {
  const t = text.trim();
  if (t === "") return { value: 1 };
  if (!/^[+-]?\d+$/.test(t)) return { error: `must be an integer (got '${t}')` };
  if (Number(t) < 1) return { error: `must be >= 1 (got ${Number(t)})` };
  return { value: Number(t) };
}

/** Number of samples the form asks for (the model's sample-count parameter). */
export function sampleCount(model: Model, values: FormValues): number | undefined {
  const p = model.parameters.find((x) => x.isSampleCount);
  if (!p) return undefined;
  const r = parseField(p, values[p.name]);
  return typeof r.value === "number" ? r.value : undefined;
}
