// The New simulation form: values per model, client-side validation, server errors at the
// field they name, submission with an idempotency key, and presets stored server-side.
import { atom } from "jotai";
import { unwrap } from "jotai/utils";
import type { JsonObject } from "@bufbuild/protobuf";
import type { Job, Model, Precision, Preset } from "../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../api/errors";
import {
  defaultValues,
  runFormDefaults,
  validateForm,
  valuesFrom,
  type FieldErrors,
  type FieldValue,
  type RunForm,
} from "../lib/params";
import { isScript, modelRef } from "../lib/models";
import { precisionFormOf, type PrecisionForm } from "../lib/precision";
import { newRequestId } from "../lib/requestId";
import { joinArgs, rowsFrom, type ParamRow } from "../lib/script";
import { clientAtom } from "./client";

const modelPrimAtom = atom<Model | null>(null);
const formPrimAtom = atom<RunForm>({ model: "", values: {}, rows: [], args: "", seed: "", shards: "1", ...runFormDefaults });
const touchedPrimAtom = atom<ReadonlySet<string>>(new Set<string>());
const submittedPrimAtom = atom(false);
const serverErrorsPrimAtom = atom<FieldErrors>({});
const generalErrorPrimAtom = atom<ApiError | null>(null);
const submittingPrimAtom = atom(false);
const requestIdPrimAtom = atom<string>(newRequestId());

export const selectedModelAtom = atom((get) => get(modelPrimAtom));
export const runFormAtom = atom((get) => get(formPrimAtom));
export const submittingAtom = atom((get) => get(submittingPrimAtom));
export const formGeneralErrorAtom = atom((get) => get(generalErrorPrimAtom));

export type FormAction =
  | { type: "selectModel"; model: Model }
  | { type: "field"; name: string; value: FieldValue }
  | { type: "seed"; value: string }
  | { type: "shards"; value: string }
  | { type: "args"; value: string }
  | { type: "row"; index: number; key?: string; value?: string }
  | { type: "addRow" }
  | { type: "removeRow"; index: number }
  | { type: "precision"; change: Partial<PrecisionForm> }
  | { type: "reuseCache"; value: boolean }
  | { type: "blur"; field: string }
  | { type: "reset" }
  | {
      type: "load";
      model: Model;
      parameters?: JsonObject;
      seed?: bigint;
      shards?: number;
      args?: readonly string[];
      precision?: Precision;
    };

const EMPTY_ROW: ParamRow = { key: "", value: "" };

/** The form of a model: a blocks model's schema defaults (or given values); a script's
 * parameters as rows (one empty row to start with). */
function fresh(model: Model, parameters?: JsonObject, seed = "", shards = "1", args: readonly string[] = [], precision?: Precision): RunForm {
  const script = isScript(model);
  const rows = script ? rowsFrom(parameters) : [];
  return {
    model: modelRef(model),
    values: script ? {} : parameters ? valuesFrom(model, parameters) : defaultValues(model),
    rows: rows.length ? rows : [EMPTY_ROW],
    args: joinArgs(args),
    seed,
    shards: script ? "1" : shards,
    precision: script ? runFormDefaults.precision : precisionFormOf(precision),
    reuseCache: runFormDefaults.reuseCache,
  };
}

/** Every change to the form goes through here. */
export const editFormAtom = atom(null, (get, set, action: FormAction) => {
  const form = get(formPrimAtom);
  const clearServer = (field: string) => {
    const errs = get(serverErrorsPrimAtom);
    if (field in errs) {
      const { [field]: _gone, ...rest } = errs;
      set(serverErrorsPrimAtom, rest);
    }
  };
  const changed = () => {
    set(requestIdPrimAtom, newRequestId());
    set(generalErrorPrimAtom, null);
  };
  switch (action.type) {
    case "selectModel":
      if (form.model === modelRef(action.model) && get(modelPrimAtom)) return;
      set(modelPrimAtom, action.model);
      set(formPrimAtom, fresh(action.model, undefined, form.seed, form.shards));
      set(touchedPrimAtom, new Set());
      set(submittedPrimAtom, false);
      set(serverErrorsPrimAtom, {});
      changed();
      return;
    case "load":
      set(modelPrimAtom, action.model);
      set(
        formPrimAtom,
        fresh(
          action.model,
          action.parameters ?? {},
          action.seed ? action.seed.toString() : "",
          action.shards ? String(action.shards) : "1",
          action.args,
          action.precision,
        ),
      );
      set(touchedPrimAtom, new Set());
      set(submittedPrimAtom, false);
      set(serverErrorsPrimAtom, {});
      changed();
      return;
    case "reset": {
      const m = get(modelPrimAtom);
      if (m) set(formPrimAtom, fresh(m));
      set(touchedPrimAtom, new Set());
      set(submittedPrimAtom, false);
      set(serverErrorsPrimAtom, {});
      changed();
      return;
    }
    case "field": {
      const key = `parameters.${action.name}`;
      set(formPrimAtom, { ...form, values: { ...form.values, [action.name]: action.value } });
      set(touchedPrimAtom, new Set([...get(touchedPrimAtom), key]));
      clearServer(key);
      changed();
      return;
    }
    case "seed":
      set(formPrimAtom, { ...form, seed: action.value });
      set(touchedPrimAtom, new Set([...get(touchedPrimAtom), "seed"]));
      clearServer("seed");
      changed();
      return;
    case "shards":
      set(formPrimAtom, { ...form, shards: action.value });
      set(touchedPrimAtom, new Set([...get(touchedPrimAtom), "shards"]));
      clearServer("shards");
      changed();
      return;
    case "args":
      set(formPrimAtom, { ...form, args: action.value });
      clearServer("args");
      changed();
      return;
    case "precision": {
      set(formPrimAtom, { ...form, precision: { ...form.precision, ...action.change } });
      // The fields depend on each other (one tolerance or the other): any change may fix them all.
      for (const field of SHOWN_PRECISION) clearServer(field);
      changed();
      return;
    }
    case "reuseCache":
      set(formPrimAtom, { ...form, reuseCache: action.value });
      changed();
      return;
    case "row": {
      const rows = form.rows.map((r, i) =>
        i === action.index ? { key: action.key ?? r.key, value: action.value ?? r.value } : r,
      );
      set(formPrimAtom, { ...form, rows });
      clearServer("parameters");
      changed();
      return;
    }
    case "addRow":
      set(formPrimAtom, { ...form, rows: [...form.rows, EMPTY_ROW] });
      return;
    case "removeRow": {
      const rows = form.rows.filter((_, i) => i !== action.index);
      set(formPrimAtom, { ...form, rows: rows.length ? rows : [EMPTY_ROW] });
      // Rows after it move up: what was touched no longer names the same row.
      set(touchedPrimAtom, new Set([...get(touchedPrimAtom)].filter((k) => !k.startsWith("rows."))));
      clearServer("parameters");
      changed();
      return;
    }
    case "blur":
      set(touchedPrimAtom, new Set([...get(touchedPrimAtom), action.field]));
      return;
  }
});

const validationAtom = atom((get) => {
  const model = get(modelPrimAtom);
  if (!model) return null;
  return validateForm(model, get(formPrimAtom));
});

/** Errors to show, by field path: the client's for touched fields (all after a submit
 * attempt), and the server's until that field is edited. */
export const fieldErrorsAtom = atom((get): FieldErrors => {
  const v = get(validationAtom);
  const touched = get(touchedPrimAtom);
  const all = get(submittedPrimAtom);
  const out: FieldErrors = {};
  if (v && !v.ok) {
    for (const [k, msg] of Object.entries(v.errors)) if (all || touched.has(k)) out[k] = msg;
  }
  return { ...out, ...get(serverErrorsPrimAtom) };
});

export const formValidAtom = atom((get) => get(validationAtom)?.ok ?? false);

/** Fields the form shows server errors at ("parameters": a script's parameter editor). */
const SHOWN_FIELDS = new Set(["seed", "shards", "model", "args", "parameters"]);
const SHOWN_PRECISION = new Set(["precision.rel_tol", "precision.abs_tol", "precision.confidence", "precision.min_blocks"]);

/** Submits the form; resolves to the new job, or null with the errors set. */
export const submitFormAtom = atom(null, async (get, set): Promise<Job | null> => {
  set(submittedPrimAtom, true);
  const v = get(validationAtom);
  if (!v || !v.ok || get(submittingPrimAtom)) return null;
  set(submittingPrimAtom, true);
  set(generalErrorPrimAtom, null);
  try {
    const res = await get(clientAtom).submitJob({
      model: v.value.model,
      parameters: v.value.parameters,
      seed: v.value.seed,
      shards: v.value.shards,
      args: v.value.args,
      ...(v.value.precision ? { precision: v.value.precision } : {}),
      noCache: v.value.noCache,
      requestId: get(requestIdPrimAtom),
    });
    set(requestIdPrimAtom, newRequestId());
    return res.job ?? null;
  } catch (err) {
    const e = toApiError(err);
    if (e.field) set(serverErrorsPrimAtom, { ...get(serverErrorsPrimAtom), [e.field]: e.detail });
    // A field the form does not show (e.g. request_id) still needs a visible message.
    const shown = e.field && (SHOWN_FIELDS.has(e.field) || e.field.startsWith("parameters.") || SHOWN_PRECISION.has(e.field));
    if (!shown) set(generalErrorPrimAtom, e);
    return null;
  } finally {
    set(submittingPrimAtom, false);
  }
});

// ---- presets ----------------------------------------------------------------------------

const presetsRefreshPrimAtom = atom(0);

const presetsAsyncAtom = atom(async (get): Promise<{ presets: Preset[]; error?: ApiError }> => {
  get(presetsRefreshPrimAtom);
  const model = get(modelPrimAtom);
  if (!model) return { presets: [] };
  try {
    const res = await get(clientAtom).listPresets({ model: model.name });
    return { presets: res.presets.filter((p) => p.model === model.name) };
  } catch (err) {
    return { presets: [], error: toApiError(err) };
  }
});

/** Presets of the selected model (null while loading). */
export const presetsAtom = unwrap(presetsAsyncAtom, (prev) => prev ?? null);

export const savePresetAtom = atom(null, async (get, set, name: string): Promise<ApiError | null> => {
  const model = get(modelPrimAtom);
  const v = get(validationAtom);
  set(submittedPrimAtom, true);
  if (!model || !v || !v.ok) return { code: undefined, message: "Fix the highlighted fields first.", detail: "" };
  try {
    await get(clientAtom).savePreset({
      preset: {
        name: name.trim(),
        model: model.name,
        parameters: v.value.parameters,
        seed: v.value.seed,
        shards: v.value.shards,
      },
    });
    set(presetsRefreshPrimAtom, (n) => n + 1);
    return null;
  } catch (err) {
    return toApiError(err);
  }
});

export const deletePresetAtom = atom(null, async (get, set, name: string): Promise<ApiError | null> => {
  try {
    await get(clientAtom).deletePreset({ name });
    set(presetsRefreshPrimAtom, (n) => n + 1);
    return null;
  } catch (err) {
    return toApiError(err);
  }
});

export const applyPresetAtom = atom(null, (get, set, preset: Preset) => {
  const model = get(modelPrimAtom);
  if (!model || model.name !== preset.model) return;
  set(editFormAtom, {
    type: "load",
    model,
    ...(preset.parameters ? { parameters: preset.parameters } : {}),
    seed: preset.seed,
    shards: preset.shards,
  });
});
