import { describe, expect, it } from "vitest";
import { joinArgs, parseParamRows, rowsFrom, splitArgs } from "./script";

describe("splitArgs", () => {
  it("splits as a shell does: quotes group, backslashes escape", () => {
    expect(splitArgs("")).toEqual({ ok: true, args: [] });
    expect(splitArgs("  --steps 100   -v ")).toEqual({ ok: true, args: ["--steps", "100", "-v"] });
    expect(splitArgs(`--out 'my results' --title "a \\"b\\" c" x\\ y`)).toEqual({
      ok: true,
      args: ["--out", "my results", "--title", 'a "b" c', "x y"],
    });
    expect(splitArgs(`--name= '' ""`)).toEqual({ ok: true, args: ["--name=", "", ""] });
    expect(splitArgs(`it's`)).toEqual({ ok: false, error: "has an unclosed single quote" });
    expect(splitArgs(`"open`)).toEqual({ ok: false, error: "has an unclosed double quote" });
  });

  it("joins arguments into a line that splits back into them", () => {
    const args = ["--out", "my results", "it's", "", "a=b,c/d"];
    const line = joinArgs(args);
    expect(line).toBe(`--out 'my results' 'it'"'"'s' '' a=b,c/d`);
    expect(splitArgs(line)).toEqual({ ok: true, args });
  });
});

describe("parseParamRows", () => {
  it("reads JSON values, a bare word as a string, and skips empty rows", () => {
    expect(
      parseParamRows([
        { key: "steps", value: "100" },
        { key: " mode ", value: "fast" },
        { key: "", value: "" },
        { key: "grid", value: "[1, 2.5]" },
        { key: "opts", value: '{"a": null}' },
        { key: "on", value: "true" },
      ]),
    ).toEqual({ ok: true, value: { steps: 100, mode: "fast", grid: [1, 2.5], opts: { a: null }, on: true } });
  });

  it("names the row of each error", () => {
    const r = parseParamRows([
      { key: "a", value: "1" },
      { key: "", value: "2" },
      { key: "b", value: "[1," },
      { key: "a", value: "3" },
      { key: "c", value: "" },
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[1]).toBe("row 2: the key is empty");
    expect(r.errors[2]).toMatch(/^row 3 \('b'\): the value is not JSON \(/);
    expect(r.errors[3]).toBe("row 4 ('a'): the key is already set in row 1");
    expect(r.errors[4]).toMatch(/^row 5 \('c'\): the value is empty/);
    expect(Object.keys(r.errors)).toEqual(["1", "2", "3", "4"]);
  });

  it("shows given parameters as rows", () => {
    expect(rowsFrom({ n: 5, label: "x y", on: false })).toEqual([
      { key: "n", value: "5" },
      { key: "label", value: '"x y"' },
      { key: "on", value: "false" },
    ]);
    expect(rowsFrom(undefined)).toEqual([]);
  });
});
