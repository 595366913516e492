// The New study form: the model, the form's values, client-side validation shown per field
// once touched (every field after a submit attempt), the server's errors at the field they
// name, and submission with an idempotency key.
import { atom } from "jotai";
import type { Model, Study } from "../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../api/errors";
import type { FieldErrors, FieldValue } from "../lib/params";
import type { PrecisionForm } from "../lib/precision";
import { newRequestId } from "../lib/requestId";
import { formPath, studyFormOf, sweptParams, validateStudy, type DesignChoice, type StudyForm, type SweepForm } from "../lib/study/spec";
import { clientAtom } from "./client";

const modelPrimAtom = atom<Model | null>(null);
const formPrimAtom = atom<StudyForm | null>(null);
/** Fields touched: their paths, and "sweep.<name>" for a swept parameter's row. */
const touchedPrimAtom = atom<ReadonlySet<string>>(new Set<string>());
const submittedPrimAtom = atom(false);
const serverErrorsPrimAtom = atom<FieldErrors>({});
const generalErrorPrimAtom = atom<ApiError | null>(null);
const submittingPrimAtom = atom(false);
const requestIdPrimAtom = atom<string>(newRequestId());

export const studyFormModelAtom = atom((get) => get(modelPrimAtom));
export const studyFormAtom = atom((get) => get(formPrimAtom));
export const studySubmittingAtom = atom((get) => get(submittingPrimAtom));
export const studyGeneralErrorAtom = atom((get) => get(generalErrorPrimAtom));

export type StudyFormAction =
  | { type: "selectModel"; model: Model }
  | { type: "fixed"; name: string; value: FieldValue }
  | { type: "sweep"; name: string; change: Partial<SweepForm> }
  | { type: "design"; value: DesignChoice }
  | { type: "points"; value: string }
  | { type: "title"; value: string }
  | { type: "crn"; value: boolean }
  | { type: "seed"; value: string }
  | { type: "shards"; value: string }
  | { type: "precision"; change: Partial<PrecisionForm> }
  | { type: "reuseCache"; value: boolean }
  | { type: "blur"; field: string }
  | { type: "reset" };

/** The server's errors that a change may have fixed: a sweep, the design or the number of
 * points changes the axes and the points they make. */
function affected(action: StudyFormAction): (path: string) => boolean {
  switch (action.type) {
    case "fixed":
      return (p) => p === `parameters.${action.name}` || p === "spec";
    case "sweep":
    case "design":
    case "points":
      return (p) => p.startsWith("axes") || p === "points" || p === "spec" || p.startsWith("parameters.");
    case "precision":
      return (p) => p.startsWith("precision.");
    case "title":
    case "seed":
    case "shards":
      return (p) => p === action.type;
    default:
      return () => false;
  }
}

/** Every change to the form goes through here. */
export const editStudyFormAtom = atom(null, (get, set, action: StudyFormAction) => {
  const form = get(formPrimAtom);
  const start = (model: Model) => {
    set(modelPrimAtom, model);
    set(formPrimAtom, studyFormOf(model));
    set(touchedPrimAtom, new Set());
    set(submittedPrimAtom, false);
    set(serverErrorsPrimAtom, {});
    set(generalErrorPrimAtom, null);
    set(requestIdPrimAtom, newRequestId());
  };
  if (action.type === "selectModel") {
    if (form?.model !== studyFormOf(action.model).model) start(action.model);
    return;
  }
  if (action.type === "reset") {
    const m = get(modelPrimAtom);
    if (m) start(m);
    return;
  }
  if (!form) return;
  if (action.type === "blur") {
    set(touchedPrimAtom, new Set([...get(touchedPrimAtom), action.field]));
    return;
  }
  const next: StudyForm = (() => {
    switch (action.type) {
      case "fixed":
        return { ...form, fixed: { ...form.fixed, [action.name]: action.value } };
      case "sweep":
        return { ...form, sweeps: { ...form.sweeps, [action.name]: { ...form.sweeps[action.name]!, ...action.change } } };
      case "design":
        return { ...form, design: action.value };
      case "points":
        return { ...form, points: action.value };
      case "title":
        return { ...form, title: action.value };
      case "crn":
        return { ...form, crn: action.value };
      case "seed":
        return { ...form, seed: action.value };
      case "shards":
        return { ...form, shards: action.value };
      case "precision":
        return { ...form, precision: { ...form.precision, ...action.change } };
      case "reuseCache":
        return { ...form, reuseCache: action.value };
    }
  })();
  set(formPrimAtom, next);
  const stale = affected(action);
  const errs = get(serverErrorsPrimAtom);
  if (Object.keys(errs).some(stale)) set(serverErrorsPrimAtom, Object.fromEntries(Object.entries(errs).filter(([p]) => !stale(p))));
  set(requestIdPrimAtom, newRequestId());
  set(generalErrorPrimAtom, null);
});

const validationAtom = atom((get) => {
  const model = get(modelPrimAtom);
  const form = get(formPrimAtom);
  return model && form ? validateStudy(model, form) : null;
});

/** How many points the form makes (undefined until that is known). */
export const studyPointCountAtom = atom((get): number | undefined => get(validationAtom)?.points);

/** Errors to show, by the server's field paths: the client's for touched fields (all after a
 * submit attempt), and the server's until that field is edited. */
export const studyFieldErrorsAtom = atom((get): FieldErrors => {
  const v = get(validationAtom);
  const model = get(modelPrimAtom);
  const form = get(formPrimAtom);
  const touched = get(touchedPrimAtom);
  const all = get(submittedPrimAtom);
  const out: FieldErrors = {};
  if (v && !v.ok && model && form) {
    const swept = sweptParams(model, form).map((p) => p.name);
    for (const [path, msg] of Object.entries(v.errors)) {
      const axis = /^axes\[(\d+)\]/.exec(path);
      const key = axis ? `sweep.${swept[Number(axis[1])]}` : path;
      // A grid too large shows as soon as its sizes make it so.
      const tooLarge = path === "axes" && v.points !== undefined;
      if (all || touched.has(key) || tooLarge) out[path] = msg;
    }
  }
  return { ...out, ...get(serverErrorsPrimAtom) };
});

/** Fields the form shows the server's errors at; anything else is shown above the buttons. */
function shownAtField(path: string): boolean {
  return /^(axes|parameters\.|precision\.)/.test(path) || ["title", "points", "seed", "shards"].includes(path);
}

/** Submits the form; resolves to the new study, or null with the errors set. */
export const submitStudyFormAtom = atom(null, async (get, set): Promise<Study | null> => {
  set(submittedPrimAtom, true);
  const v = get(validationAtom);
  if (!v || !v.ok || get(submittingPrimAtom)) return null;
  set(submittingPrimAtom, true);
  set(generalErrorPrimAtom, null);
  try {
    const res = await get(clientAtom).submitStudy({ spec: v.spec, requestId: get(requestIdPrimAtom) });
    set(requestIdPrimAtom, newRequestId());
    return res.study ?? null;
  } catch (err) {
    const e = toApiError(err);
    const path = e.field ? formPath(e.field) : undefined;
    if (path && shownAtField(path)) set(serverErrorsPrimAtom, { ...get(serverErrorsPrimAtom), [path]: e.detail });
    else set(generalErrorPrimAtom, e);
    return null;
  } finally {
    set(submittingPrimAtom, false);
  }
});
