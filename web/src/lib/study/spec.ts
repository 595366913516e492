// The New study form: per parameter fixed / a list of values / a range, a design (grid,
// Sobol, random), common random numbers, seed, shards and a precision target per point; the
// StudySpec it makes, the number of points, and validation keyed by the server's field paths
// (without the leading "spec.") with the gateway's wording (services/gateway/.../core/
// studies.py). Pure: no React, no client.
import { fromJson, type JsonObject, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ParameterType, StudyDesign, type Model, type Parameter, type StudySpec, type StudySpecSchema } from "../../gen/simlab/v1/simulation_pb";
import { modelRef } from "../models";
import { DECIMAL_TEXT } from "../numbers";
import { boundsError, defaultValues, fmt, parseField, parseSeed, parseShards, valuesFrom, type FieldErrors, type FormValues } from "../params";
import { emptyPrecisionForm, validatePrecision, type PrecisionForm } from "../precision";

/** The most points one study may have (the gateway's default limit). */
export const MAX_STUDY_POINTS = 10_000;
/** The longest title the gateway takes. */
export const MAX_TITLE = 200;
const MAX_TEXT = MAX_STUDY_POINTS.toLocaleString("en-US");

export type SweepMode = "fixed" | "list" | "range";
export type DesignChoice = "grid" | "sobol" | "random";

/** How one parameter varies, as typed. */
export interface SweepForm {
  mode: SweepMode;
  /** A list: values separated by commas. */
  values: string;
  start: string;
  stop: string;
  /** Grid design: points from start to stop, both included. */
  count: string;
  /** Evenly spaced in log(value). */
  log: boolean;
}

export interface StudyForm {
  /** The version the form is for: "name@vN". */
  model: string;
  title: string;
  /** The value of each parameter held fixed (the run form's fields). */
  fixed: FormValues;
  sweeps: Record<string, SweepForm>;
  design: DesignChoice;
  /** Sampled designs: how many points. */
  points: string;
  crn: boolean;
  seed: string;
  shards: string;
  precision: PrecisionForm;
  reuseCache: boolean;
}

export type StudySpecInit = MessageInitShape<typeof StudySpecSchema>;

export const fixedSweep: SweepForm = { mode: "fixed", values: "", start: "", stop: "", count: "5", log: false };

export const DESIGNS: { choice: DesignChoice; design: StudyDesign; label: string }[] = [
  { choice: "grid", design: StudyDesign.GRID, label: "Grid" },
  { choice: "sobol", design: StudyDesign.SOBOL, label: "Sobol" },
  { choice: "random", design: StudyDesign.RANDOM, label: "Random" },
];

/** The modes a parameter can take: a range needs a number. */
export function sweepModes(param: Parameter): SweepMode[] {
  return param.type === ParameterType.FLOAT || param.type === ParameterType.INT ? ["fixed", "list", "range"] : ["fixed", "list"];
}

/** A fresh form: every parameter fixed at its default (or at `given`'s values). */
export function studyFormOf(model: Model, given?: JsonObject): StudyForm {
  return {
    model: modelRef(model),
    title: "",
    fixed: given ? valuesFrom(model, given) : defaultValues(model),
    sweeps: Object.fromEntries(model.parameters.map((p) => [p.name, fixedSweep])),
    design: "grid",
    points: "256",
    crn: false,
    seed: "",
    shards: "1",
    precision: emptyPrecisionForm,
    reuseCache: true,
  };
}

/** The swept parameters in axis order (the schema's): axis i is the i-th of them. */
export function sweptParams(model: Model, form: StudyForm): Parameter[] {
  return model.parameters.filter((p) => (form.sweeps[p.name]?.mode ?? "fixed") !== "fixed");
}

const sampled = (design: DesignChoice) => design !== "grid";

/** Python's round(): halves to even, as the gateway rounds an INT axis. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The values of a grid range: `count` from start to stop, both included (geometric when
 * `log`); integers for an INT parameter. */
export function rangeValues(start: number, stop: number, count: number, log: boolean, integer: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = count === 1 ? 0 : i / (count - 1);
    const v = i === count - 1 ? stop : log ? Math.exp(Math.log(start) + t * (Math.log(stop) - Math.log(start))) : start + t * (stop - start);
    out.push(integer ? roundHalfEven(v) : v);
  }
  return out;
}

function parseNumber(text: string): number | undefined {
  const t = text.trim();
  return DECIMAL_TEXT.test(t) && Number.isFinite(Number(t)) ? Number(t) : undefined;
}

function parseCount(text: string): number | undefined {
  const t = text.trim();
  return /^[+-]?\d+$/.test(t) ? Number(t) : undefined;
}

/** The values of a list, typed by the parameter (empty items skipped). */
function listItems(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** A value of a list; an error starts with the parameter's name, as the gateway's does. */
function parseListValue(param: Parameter, item: string): { value?: JsonValue; error?: string } {
  if (param.type === ParameterType.BOOL) {
    const t = item.toLowerCase();
    return t === "true" ? { value: true } : t === "false" ? { value: false } : { error: `${param.name} must be true or false (got '${item}')` };
  }
  const r = parseField(param, item);
  return r.error !== undefined ? { error: `${param.name} ${r.error}` } : r;
}

/** A value as Python's repr() writes it, as the gateway's messages show values. */
function pyRepr(v: JsonValue): string {
  if (typeof v === "string") return `'${v}'`;
  if (typeof v === "boolean") return v ? "True" : "False";
  return String(v);
}

type Axis = NonNullable<StudySpecInit["axes"]>[number];

interface AxisResult {
  axis?: Axis;
  /** Grid points along it (undefined when it cannot be counted yet). */
  length?: number;
}

function checkAxis(param: Parameter, sweep: SweepForm, i: number, design: DesignChoice, errors: FieldErrors): AxisResult {
  const at = `axes[${i}]`;
  if (sweep.mode === "list") {
    if (sampled(design)) {
      errors[`${at}.values`] = `a ${design} design draws its points within ranges: give spec.${at}.range`;
      return {};
    }
    const items = listItems(sweep.values);
    if (items.length === 0) {
      errors[`${at}.values`] = "give at least one value";
      return {};
    }
    const values: JsonValue[] = [];
    const seen = new Map<string, number>();
    items.forEach((item, k) => {
      const r = parseListValue(param, item);
      if (r.error !== undefined) errors[`${at}.values[${k}]`] ??= r.error;
      else if (r.value !== undefined) {
        const key = JSON.stringify(r.value);
        const before = seen.get(key);
        if (before !== undefined) errors[`${at}.values[${k}]`] ??= `${param.name} ${pyRepr(r.value)} is values[${before}] again`;
        else seen.set(key, k);
        values.push(r.value);
      }
    });
    return {
      length: items.length,
      axis: { parameter: param.name, kind: { case: "values", value: { values: values.map((v) => fromJson(ValueSchema, v)) } } },
    };
  }
  // A range.
  const start = parseNumber(sweep.start);
  const stop = parseNumber(sweep.stop);
  const integer = param.type === ParameterType.INT;
  for (const [name, text, n] of [
    ["start", sweep.start, start],
    ["stop", sweep.stop, stop],
  ] as const) {
    const path = `${at}.range.${name}`;
    if (text.trim() === "") errors[path] = "is required";
    else if (n === undefined) errors[path] = `must be a number (got '${text.trim()}')`;
    else if (sweep.log && !(n > 0)) errors[path] = `must be > 0 in a log range, got ${fmt(n)}`;
    else {
      const outside = boundsError(param, integer ? roundHalfEven(n) : n);
      if (outside) errors[path] = `${param.name} ${outside}`;
    }
  }
  if (start !== undefined && stop !== undefined && start === stop) {
    errors[`${at}.range`] = `start and stop are equal: hold ${param.name} fixed in spec.parameters instead`;
  }
  let count = 0;
  if (!sampled(design)) {
    const c = parseCount(sweep.count);
    const path = `${at}.range.count`;
    if (c === undefined) errors[path] = `must be an integer (got '${sweep.count.trim()}')`;
    else if (c < 2) errors[path] = `must be at least 2, got ${c}`;
    else if (c > MAX_STUDY_POINTS) errors[path] = `must be at most ${MAX_TEXT}, the most points a study may have`;
    else count = c;
    const endsOk = ![`${at}.range.start`, `${at}.range.stop`, `${at}.range`].some((p) => errors[p]);
    if (count && integer && start !== undefined && stop !== undefined && endsOk) {
      const distinct = new Set(rangeValues(start, stop, count, sweep.log, true)).size;
      if (distinct < count) {
        errors[`${at}.range`] = `${param.name} takes whole numbers: ${count} points from ${fmt(start)} to ${fmt(stop)} round to only ${distinct} different ones; ask for fewer`;
      }
    }
  }
  if (start === undefined || stop === undefined) return {};
  return {
    ...(count ? { length: count } : {}),
    axis: { parameter: param.name, kind: { case: "range", value: { start, stop, count, log: sweep.log } } },
  };
}

function checkPoints(design: DesignChoice, text: string): { value?: number; error?: string } {
  const n = parseCount(text);
  if (n === undefined) return { error: `must be an integer (got '${text.trim()}')` };
  if (n < 1 || n > MAX_STUDY_POINTS) return { error: `a ${design} design draws 1 to ${MAX_TEXT} points; got ${n}` };
  return { value: n };
}

export type StudyValidation =
  | { ok: true; spec: StudySpecInit; points: number }
  | { ok: false; errors: FieldErrors; points?: number };

/** Checks the whole form and builds the StudySpec. Errors are keyed by the server's paths
 * without "spec." ("axes[1].range.count", "parameters.spot", "points", "seed"; "axes" for
 * no axis or too large a grid); `points` is how many points it makes, once that is known. */
export function validateStudy(model: Model, form: StudyForm): StudyValidation {
  const errors: FieldErrors = {};
  const parameters: JsonObject = {};
  const axes: Axis[] = [];
  const lengths: (number | undefined)[] = [];
  for (const p of model.parameters) {
    const sweep = form.sweeps[p.name] ?? fixedSweep;
    if (sweep.mode === "fixed") {
      const r = parseField(p, form.fixed[p.name]);
      if (r.error !== undefined) errors[`parameters.${p.name}`] = r.error;
      else if (r.value !== undefined) parameters[p.name] = r.value;
      continue;
    }
    const { axis, length } = checkAxis(p, sweep, axes.length, form.design, errors);
    // Every swept parameter takes an axis index, valid or not, so paths stay the server's.
    axes.push(axis ?? { parameter: p.name });
    lengths.push(length);
  }
  if (axes.length === 0) errors.axes = "sweep at least one parameter";
  if (form.title.trim().length > MAX_TITLE) errors.title = `must be at most ${MAX_TITLE} characters, got ${form.title.trim().length}`;

  let points: number | undefined;
  if (sampled(form.design)) {
    const r = checkPoints(form.design, form.points);
    if (r.error !== undefined) errors.points = r.error;
    points = r.value;
  } else if (axes.length && lengths.every((n) => n !== undefined)) {
    const counts = lengths as number[];
    points = counts.reduce((a, b) => a * b, 1);
    if (points > MAX_STUDY_POINTS) {
      const shape = counts.map((n) => n.toLocaleString("en-US")).join(" x ");
      errors.axes = `the grid has ${shape} = ${points.toLocaleString("en-US")} points; a study has at most ${MAX_TEXT}`;
    }
  }

  const target = validatePrecision(form.precision);
  if (!target.ok) Object.assign(errors, target.errors);
  const seed = parseSeed(form.seed);
  if (seed.error !== undefined) errors.seed = seed.error;
  const shards = parseShards(form.shards);
  if (shards.error !== undefined) errors.shards = shards.error;

  if (Object.keys(errors).length > 0 || seed.value === undefined || shards.value === undefined || points === undefined || !target.ok) {
    return { ok: false, errors, ...(points !== undefined ? { points } : {}) };
  }
  const design = DESIGNS.find((d) => d.choice === form.design)!.design;
  return {
    ok: true,
    points,
    spec: {
      model: form.model,
      title: form.title.trim(),
      parameters,
      axes,
      design,
      points: sampled(form.design) ? points : 0,
      seed: seed.value,
      crn: form.crn,
      shards: shards.value,
      ...(target.value ? { precision: target.value } : {}),
      noCache: !form.reuseCache,
    },
  };
}

/** Where an error of axis `i` goes on its parameter's row. */
export interface AxisErrors {
  /** The axis as a whole (e.g. a list in a sampled design). */
  axis?: string;
  values?: string;
  start?: string;
  stop?: string;
  count?: string;
}

/** The errors of axis `i`, by the field of the row that shows them ("values[3]" reads as
 * "value 4"). */
export function axisErrors(errors: FieldErrors, i: number): AxisErrors {
  const out: AxisErrors = {};
  const prefix = `axes[${i}]`;
  for (const [path, msg] of Object.entries(errors)) {
    if (path !== prefix && !path.startsWith(`${prefix}.`)) continue;
    const rest = path.slice(prefix.length);
    const item = /^\.values\[(\d+)\]$/.exec(rest);
    if (rest === "") out.axis ??= msg;
    else if (item) out.values ??= `value ${Number(item[1]) + 1}: ${msg}`;
    else if (rest === ".values") out.values ??= msg;
    else if (rest === ".range.start") out.start ??= msg;
    else if (rest === ".range.stop") out.stop ??= msg;
    else if (rest === ".range.count") out.count ??= msg;
    else out.axis ??= msg;
  }
  return out;
}

/** A field path of the server's error ("spec.axes[0].values[3]") as the form keys it
 * ("axes[0].values[3]"); "spec" stays "spec". */
export function formPath(serverField: string): string {
  return serverField.startsWith("spec.") ? serverField.slice("spec.".length) : serverField;
}

/** "Grid 3 × 2", "Sobol, 256 points": how a submitted study's points were laid out. */
export function describeDesign(spec: Pick<StudySpec, "axes" | "design" | "points"> | undefined): string {
  if (!spec) return "";
  if (spec.design === StudyDesign.SOBOL || spec.design === StudyDesign.RANDOM) {
    return `${spec.design === StudyDesign.SOBOL ? "Sobol" : "Random"}, ${spec.points.toLocaleString("en-US")} points`;
  }
  const lengths = spec.axes.map((a) => (a.kind.case === "values" ? a.kind.value.values.length : a.kind.case === "range" ? a.kind.value.count : 0));
  return `Grid ${lengths.join(" × ")}`;
}

/** Whether a submitted study's axis for `parameter` is a log range (its chart axis is then
 * logarithmic). */
export function isLogAxis(spec: Pick<StudySpec, "axes"> | undefined, parameter: string): boolean {
  const axis = spec?.axes.find((a) => a.parameter === parameter);
  return axis?.kind.case === "range" && axis.kind.value.log;
}
