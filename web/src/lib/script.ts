// The inputs of a script model: command-line arguments split as a shell would, and free-form
// parameters edited as rows of a key and a JSON value.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/** Splits a command line like a POSIX shell (quotes, backslash escapes; no expansion). */
export function splitArgs(text: string): { ok: true; args: string[] } | { ok: false; error: string } {
  const args: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1]!)) cur += text[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\") {
      if (i + 1 < text.length) cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) args.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return { ok: false, error: `has an unclosed ${quote === '"' ? "double" : "single"} quote` };
  if (inWord) args.push(cur);
  return { ok: true, args };
}

/** The inverse of splitArgs: arguments as a command line that splits back into them. */
export function joinArgs(args: readonly string[]): string {
  return args.map((a) => (a !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'"'"'`)}'`)).join(" ");
}

/** One row of the free-form parameter editor. */
export interface ParamRow {
  key: string;
  /** A JSON value; text that is not JSON is taken as a string when it is a plain word. */
  value: string;
}

/** The rows as the parameters object; errors by row index, naming the row. */
export function parseParamRows(rows: readonly ParamRow[]): { ok: true; value: JsonObject } | { ok: false; errors: Record<number, string> } {
  const value: JsonObject = {};
  const errors: Record<number, string> = {};
  const seen = new Map<string, number>();
  rows.forEach((row, i) => {
    const key = row.key.trim();
    const text = row.value.trim();
    const name = `row ${i + 1}${key ? ` ('${key}')` : ""}`;
    if (key === "" && text === "") return; // an empty row is ignored
    if (key === "") {
      errors[i] = `${name}: the key is empty`;
      return;
    }
    if (seen.has(key)) {
      errors[i] = `${name}: the key is already set in row ${seen.get(key)! + 1}`;
      return;
    }
    seen.set(key, i);
    const parsed = parseJsonValue(text);
    if ("error" in parsed) errors[i] = `${name}: ${parsed.error}`;
    else value[key] = parsed.value;
  });
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value };
}

function parseJsonValue(text: string): { value: JsonValue } | { error: string } {
  if (text === "") return { error: "the value is empty (write null for none, \"\" for an empty string)" };
  try {
    return { value: JSON.parse(text) as JsonValue };
  } catch (err) {
    // A bare word reads as the string it spells; anything else must be JSON.
    if (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(text)) return { value: text };
    return { error: `the value is not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** Rows showing the given parameters (a run to repeat, a preset). */
export function rowsFrom(parameters: JsonObject | undefined): ParamRow[] {
  return Object.entries(parameters ?? {}).map(([key, v]) => ({ key, value: JSON.stringify(v) }));
}
