// Pushing code from the Models page: the draft (code, file name, model name, visibility),
// and the push, which waits while a sandboxed worker registers the code.
import { atom } from "jotai";
import type { Model } from "../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../api/errors";
import { defaultModelName, errorLocation, modelNameError } from "../lib/models";
import { clientAtom } from "./client";
import { reloadModelsAtom } from "./models";

/** The file a pasted model is pushed as. */
export const PASTED_FILE = "model.py";

export interface UploadDraft {
  code: string;
  /** The dropped file's name ("" for pasted code). */
  fileName: string;
  name: string;
  public: boolean;
}

export type PushState =
  | { status: "idle" }
  | { status: "pushing"; since: number; name: string }
  | { status: "done"; model: Model; created: boolean }
  | {
      status: "failed";
      error: ApiError;
      /** The server's message as users read it (without the field prefix). */
      message: string;
      /** The line the message points at in the code that was sent, if it does. */
      line?: number;
      /** The code that was sent, to show the line in. */
      code: string;
      path: string;
    };

const EMPTY_DRAFT: UploadDraft = { code: "", fileName: "", name: "", public: false };

const draftPrimAtom = atom<UploadDraft>(EMPTY_DRAFT);
/** Whether the name was typed (then a dropped file no longer renames it). */
const nameTypedPrimAtom = atom(false);
const attemptedPrimAtom = atom(false);
const pushPrimAtom = atom<PushState>({ status: "idle" });

export const uploadDraftAtom = atom((get) => get(draftPrimAtom));
export const pushStateAtom = atom((get) => get(pushPrimAtom));

/** The path the code is pushed under: the dropped file's name, or model.py. */
export const uploadPathAtom = atom((get) => get(draftPrimAtom).fileName || PASTED_FILE);

export type UploadAction =
  | { type: "code"; value: string }
  | { type: "file"; name: string; code: string }
  | { type: "name"; value: string }
  | { type: "public"; value: boolean }
  | { type: "clear" };

export const editUploadAtom = atom(null, (get, set, action: UploadAction) => {
  const draft = get(draftPrimAtom);
  switch (action.type) {
    case "code":
      set(draftPrimAtom, { ...draft, code: action.value });
      break;
    case "file":
      set(draftPrimAtom, {
        ...draft,
        code: action.code,
        fileName: action.name,
        name: get(nameTypedPrimAtom) && draft.name ? draft.name : defaultModelName(action.name),
      });
      break;
    case "name":
      set(nameTypedPrimAtom, true);
      set(draftPrimAtom, { ...draft, name: action.value.trim() });
      break;
    case "public":
      set(draftPrimAtom, { ...draft, public: action.value });
      break;
    case "clear":
      set(draftPrimAtom, EMPTY_DRAFT);
      set(nameTypedPrimAtom, false);
      set(attemptedPrimAtom, false);
      set(pushPrimAtom, { status: "idle" });
      return;
  }
  // A result is about the code it was for: editing starts over.
  if (get(pushPrimAtom).status !== "pushing") set(pushPrimAtom, { status: "idle" });
});

/** What must be fixed before pushing, by field ("name", "code"): the name once typed, both
 * after a push was attempted. */
export const uploadErrorsAtom = atom((get): Partial<Record<"name" | "code", string>> => {
  const draft = get(draftPrimAtom);
  const all = get(attemptedPrimAtom);
  const out: Partial<Record<"name" | "code", string>> = {};
  const nameError = modelNameError(draft.name);
  if (nameError && (all || draft.name !== "")) out.name = nameError;
  if (all && draft.code.trim() === "") out.code = "Paste the code, or drop a .py file here.";
  const state = get(pushPrimAtom);
  if (state.status === "failed" && state.error.field === "name") out.name = state.error.detail;
  return out;
});

/** Pushes the draft; resolves to the registered version, or null (the state says why). */
export const pushModelAtom = atom(null, async (get, set): Promise<Model | null> => {
  set(attemptedPrimAtom, true);
  const draft = get(draftPrimAtom);
  const path = get(uploadPathAtom);
  if (get(pushPrimAtom).status === "pushing" || modelNameError(draft.name) || draft.code.trim() === "") return null;
  set(pushPrimAtom, { status: "pushing", since: Date.now(), name: draft.name });
  try {
    const res = await get(clientAtom).pushModel({
      name: draft.name,
      entry: path,
      // The server builds the bundle and computes its sha256 from the files.
      files: [{ path, data: new TextEncoder().encode(draft.code) }],
      public: draft.public,
    });
    if (!res.model) throw new Error("The server registered the code but returned no model.");
    set(pushPrimAtom, { status: "done", model: res.model, created: res.created });
    set(reloadModelsAtom);
    return res.model;
  } catch (err) {
    const error = toApiError(err);
    // A registration failure comes back at the field "code" (named in a BadRequest detail,
    // and as the message's prefix); its text is the worker's.
    const message = error.field === "code" ? error.detail : error.message.replace(/^code: /, "");
    const at = errorLocation(message);
    set(pushPrimAtom, {
      status: "failed",
      error,
      message,
      ...(at && sameFile(at.file, path) ? { line: at.line } : {}),
      code: draft.code,
      path,
    });
    return null;
  }
});

function sameFile(reported: string, path: string): boolean {
  return reported === path || reported.endsWith(`/${path}`) || path.endsWith(`/${reported}`);
}
