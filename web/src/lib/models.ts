// Model versions as the UI names them ("name@vN"), the model name rule, and where a
// registration error points in the code.
import { ModelKind, type Model } from "../gen/simlab/v1/simulation_pb";

/** "name@vN" of a registered version; the bare name for a model without a version. */
export function modelRef(model: Pick<Model, "name" | "version">): string {
  return model.version > 0 ? `${model.name}@v${model.version}` : model.name;
}

/** The reference of what a job ran ("name@vN", or the name for jobs from before versions). */
export function jobModelRef(job: { model: string; modelVersion: number }): string {
  return modelRef({ name: job.model, version: job.modelVersion });
}

/** Who a model belongs to, as lists show it. */
export function ownerLabel(model: Pick<Model, "builtin" | "owner">): string {
  return model.builtin ? "built-in" : model.owner || "—";
}

export function kindLabel(kind: ModelKind): string {
  return kind === ModelKind.SCRIPT ? "Script" : kind === ModelKind.BLOCKS ? "Blocks" : "—";
}

export function isScript(model: Pick<Model, "kind"> | undefined): boolean {
  return model?.kind === ModelKind.SCRIPT;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** The server's model name rule; the message says what a name may hold (null: valid). */
export function modelNameError(name: string): string | null {
  if (name === "") return "is required";
  if (NAME.test(name)) return null;
  return `must be letters, digits, "_" and "-", start with a letter and have at most 64 characters (got '${name}')`;
}

/** The name a file is pushed under by default: its stem, other characters as "_" (as the
 * CLI does), prefixed when it does not start with a letter. */
export function defaultModelName(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? "";
  const stem = base.replace(/\.py$/i, "").replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
  if (stem === "") return "";
  return /^[A-Za-z]/.test(stem) ? stem : `m_${stem}`.slice(0, 64);
}

/** The file and line a registration message starts with ("model.py:12: ..."), if any. */
export function errorLocation(message: string): { file: string; line: number } | undefined {
  const m = /^([^\s:][^:\n]*?):(\d+):/.exec(message.trim());
  if (!m) return undefined;
  const line = Number(m[2]);
  return line > 0 ? { file: m[1]!, line } : undefined;
}

/** Where line `line` (1-based) of `text` starts and ends (without its newline); past the
 * last line, the end of the text. */
export function lineRange(text: string, line: number): [number, number] {
  let start = 0;
  for (let n = 1; n < line; n++) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) return [text.length, text.length];
    start = nl + 1;
  }
  const nl = text.indexOf("\n", start);
  return [start, nl < 0 ? text.length : nl];
}

/** Short form of a sha256 for display (the full one goes in a title or the clipboard). */
export function shortSha(sha: string): string {
  return sha.slice(0, 12);
}
