// Precision targets: the "Stop at precision" form and its validation (mirroring
// libs/runtime/src/simlab/core/precision.py's messages), the target band the convergence chart
// draws, and the time-to-target line of a running run. Pure: no React, no client.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { StopReason, type PrecisionSchema, type Precision, type Progress } from "../gen/simlab/v1/simulation_pb";
import { formatCount, formatDuration, formatNumber } from "./format";
import { DECIMAL_TEXT } from "./numbers";
import type { FieldErrors } from "./params";

export const DEFAULT_CONFIDENCE = 0.95;
export const DEFAULT_MIN_BLOCKS = 10;
const MAX_MIN_BLOCKS = 1_000_000;

export type PrecisionInit = MessageInitShape<typeof PrecisionSchema>;

/** The "Stop at precision" section while being edited: text as typed. */
export interface PrecisionForm {
  enabled: boolean;
  relTol: string;
  absTol: string;
  confidence: string;
  minBlocks: string;
  twoStage: boolean;
}

export const emptyPrecisionForm: PrecisionForm = {
  enabled: false,
  relTol: "",
  absTol: "",
  confidence: "",
  minBlocks: "",
  twoStage: false,
};

/** The section as a run's (or a source run's) precision fills it. */
export function precisionFormOf(p: Precision | undefined): PrecisionForm {
  if (!p) return emptyPrecisionForm;
  return {
    enabled: true,
    relTol: p.relTol > 0 ? String(p.relTol) : "",
    absTol: p.absTol > 0 ? String(p.absTol) : "",
    confidence: p.confidence > 0 && p.confidence !== DEFAULT_CONFIDENCE ? String(p.confidence) : "",
    minBlocks: p.minBlocks > 0 && p.minBlocks !== DEFAULT_MIN_BLOCKS ? String(p.minBlocks) : "",
    twoStage: p.twoStage,
  };
}

type Parsed = { value: number; error?: never } | { error: string; value?: never };

/** A tolerance as typed: "" is none (0 on the wire), else a finite number > 0. */
function parseTolerance(text: string): Parsed {
  const t = text.trim();
  if (t === "") return { value: 0 };
  if (!DECIMAL_TEXT.test(t)) return { error: `must be a number (got '${t}')` };
  const n = Number(t);
  if (!(n > 0)) return { error: `must be > 0 (got ${t})` };
  return { value: n };
}

/** The confidence as a fraction ("0.99") or a percentage ("99%"); "" is the default. */
function parseConfidence(text: string): Parsed {
  const t = text.trim();
  if (t === "") return { value: DEFAULT_CONFIDENCE };
  const percent = t.endsWith("%");
  const body = percent ? t.slice(0, -1).trim() : t;
  if (!DECIMAL_TEXT.test(body)) return { error: `must be a number in (0, 1) (got '${t}')` };
  const n = percent ? Number(body) / 100 : Number(body);
  if (!(n > 0 && n < 1)) return { error: `must be in (0, 1), got ${t}` };
  return { value: n };
}

function parseMinBlocks(text: string): Parsed {
  const t = text.trim();
  if (t === "") return { value: DEFAULT_MIN_BLOCKS };
  if (!/^[+-]?\d+$/.test(t)) return { error: `must be an integer (got '${t}')` };
  const n = Number(t);
  if (n < 2 || n > MAX_MIN_BLOCKS) return { error: `must be in [2, ${MAX_MIN_BLOCKS.toLocaleString("en-US")}], got ${n}` };
  return { value: n };
}

/** Checks the section; errors are keyed by the server's field paths ("precision.rel_tol").
 * A disabled section gives no precision. */
export function validatePrecision(form: PrecisionForm): { ok: true; value: PrecisionInit | undefined } | { ok: false; errors: FieldErrors } {
  if (!form.enabled) return { ok: true, value: undefined };
  const rel = parseTolerance(form.relTol);
  const abs = parseTolerance(form.absTol);
  const confidence = parseConfidence(form.confidence);
  const minBlocks = parseMinBlocks(form.minBlocks);
  const errors: FieldErrors = {};
  const fields = { rel_tol: rel, abs_tol: abs, confidence, min_blocks: minBlocks };
  for (const [name, r] of Object.entries(fields)) if (r.error !== undefined) errors[`precision.${name}`] = r.error;
  if (rel.value === 0 && abs.value === 0) errors["precision.rel_tol"] = "set a relative or an absolute tolerance (or both)";
  if (rel.value === undefined || abs.value === undefined || confidence.value === undefined || minBlocks.value === undefined || Object.keys(errors).length) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    value: { relTol: rel.value, absTol: abs.value, confidence: confidence.value, minBlocks: minBlocks.value, twoStage: form.twoStage },
  };
}

/** The half-width the target asks for at this estimate: max(abs_tol, rel_tol · |estimate|). */
export function toleranceAt(precision: Pick<Precision, "relTol" | "absTol">, estimate: number): number {
  return Math.max(precision.absTol, precision.relTol * Math.abs(estimate));
}

export interface TargetBand {
  center: number;
  tolerance: number;
  lo: number;
  hi: number;
}

/** The band the estimate must be known within: the latest estimate ± the tolerance there.
 * None without a precision, an estimate or a positive tolerance. */
export function targetBand(precision: Precision | undefined, estimate: number | undefined): TargetBand | undefined {
  if (!precision || estimate === undefined || !Number.isFinite(estimate)) return undefined;
  const tolerance = toleranceAt(precision, estimate);
  if (!(tolerance > 0)) return undefined;
  return { center: estimate, tolerance, lo: estimate - tolerance, hi: estimate + tolerance };
}

/** Samples per second between two observations of a run's progress (undefined until some
 * were done between them). */
export function sampleRate(first: { atMs: number; samples: number }, last: { atMs: number; samples: number }): number | undefined {
  const seconds = (last.atMs - first.atMs) / 1000;
  const samples = last.samples - first.samples;
  return seconds > 0 && samples > 0 ? samples / seconds : undefined;
}

/** The progress line of a running run with a precision target and no stop yet:
 * "≈ 2.4M samples to target, ~35 s left"; undefined while the estimate is not known. */
export function timeToTarget(progress: Pick<Progress, "samplesToTarget" | "samplesDone" | "samplesTotal">, rate: number | undefined): string | undefined {
  const needed = Number(progress.samplesToTarget);
  if (!(needed > 0)) return undefined;
  const done = Number(progress.samplesDone);
  const budget = Number(progress.samplesTotal);
  if (budget > 0 && needed > budget) {
    return `≈ ${formatCount(needed)} samples to target: more than the budget of ${formatCount(budget)}`;
  }
  const more = Math.max(0, needed - done);
  const head = `≈ ${formatCount(needed)} samples to target`;
  if (more === 0) return `${head}, almost there`;
  return rate ? `${head}, ~${formatDuration((more / rate) * 1000)} left` : head;
}

/** What a run's target asks: "±0.1 % of |estimate| at 95 %, sequential, pilot 10 blocks". */
export function describePrecision(p: Precision): string {
  const rel = p.relTol > 0 ? `±${formatNumber(p.relTol * 100)} % of |estimate|` : "";
  const abs = p.absTol > 0 ? `±${formatNumber(p.absTol)}` : "";
  const tolerance = rel && abs ? `${rel} or ${abs} (the larger)` : rel || abs;
  const mode = p.twoStage ? "two-stage" : "sequential";
  return `${tolerance} at ${formatPercent(p.confidence || DEFAULT_CONFIDENCE)}, ${mode}, pilot ${p.minBlocks || DEFAULT_MIN_BLOCKS} blocks`;
}

export const STOP_REASON_LABELS: Record<StopReason, string> = {
  [StopReason.UNSPECIFIED]: "Stopped",
  [StopReason.PRECISION_REACHED]: "Precision reached",
  [StopReason.BUDGET_EXHAUSTED]: "Budget exhausted",
};

/** "±0.0098 (target ±0.01) at 95 %" */
/** Labels of the keys a run with a precision target adds to its summary (the worker's). */
export const STOP_SUMMARY_LABELS: Record<string, string> = {
  stop_reason: "Stop reason",
  blocks_used: "Blocks used",
  samples_used: "Samples used",
  half_width: "Interval half-width",
  target: "Target half-width",
  confidence: "Confidence",
};

export function halfWidthVsTarget(halfWidth: number | undefined, target: number | undefined, confidence: number): string {
  const hw = halfWidth === undefined ? "—" : `±${formatNumber(halfWidth)}`;
  const t = target === undefined ? "" : ` (target ±${formatNumber(target)})`;
  return `${hw}${t} at ${formatPercent(confidence || DEFAULT_CONFIDENCE)}`;
}

export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(4))} %`;
}
