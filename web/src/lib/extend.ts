// "Add samples" on a finished run: a new sample budget and, optionally, a tighter tolerance,
// checked and turned into an ExtendJob request. Pure: no React, no client.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ExtendJobRequestSchema, Job } from "../gen/simlab/v1/simulation_pb";
import { DECIMAL_TEXT } from "./numbers";
import type { FieldErrors } from "./params";
import { precisionFormOf, validatePrecision } from "./precision";

export interface ExtendForm {
  samples: string;
  relTol: string;
  absTol: string;
}

export type ExtendRequest = MessageInitShape<typeof ExtendJobRequestSchema>;

/** The dialog as a run fills it: no new budget yet, the run's tolerances. */
export function extendFormOf(job: Job): ExtendForm {
  const p = precisionFormOf(job.precision);
  return { samples: "", relTol: p.relTol, absTol: p.absTol };
}

/** Checks the dialog against the run it extends; errors keyed "samples", "precision.rel_tol",
 * "precision.abs_tol". A precision is sent only when a tolerance changed (absent keeps the
 * run's); its confidence, pilot and mode stay the run's. */
export function validateExtend(job: Job, form: ExtendForm, requestId: string): { ok: true; value: ExtendRequest } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const text = form.samples.trim();
  let samples = 0n;
  if (text !== "") {
    const n = DECIMAL_TEXT.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n)) errors.samples = `must be a whole number of samples (got '${text}')`;
    else if (n < 1) errors.samples = `must be >= 1 (got ${text})`;
    else samples = BigInt(n);
  }
  const before = extendFormOf(job);
  const tightened = form.relTol.trim() !== before.relTol || form.absTol.trim() !== before.absTol;
  let precision: ExtendRequest["precision"];
  if (tightened) {
    const source = precisionFormOf(job.precision);
    const v = validatePrecision({ ...source, enabled: true, relTol: form.relTol, absTol: form.absTol });
    if (v.ok) precision = v.value;
    else Object.assign(errors, v.errors);
  }
  if (!errors.samples && samples === 0n && !tightened) errors.samples = "give a new sample budget or a tighter tolerance";
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, value: { jobId: job.jobId, samples, requestId, ...(precision ? { precision } : {}) } };
}
