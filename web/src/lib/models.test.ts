import { describe, expect, it } from "vitest";
import { defaultModelName, errorLocation, jobModelRef, lineRange, modelNameError, modelRef, ownerLabel } from "./models";

describe("model references", () => {
  it("name versions as name@vN, and unversioned models by name", () => {
    expect(modelRef({ name: "asian", version: 3 })).toBe("asian@v3");
    expect(modelRef({ name: "pi", version: 0 })).toBe("pi");
    expect(jobModelRef({ model: "asian", modelVersion: 2 })).toBe("asian@v2");
    expect(ownerLabel({ builtin: true, owner: "" })).toBe("built-in");
    expect(ownerLabel({ builtin: false, owner: "alice" })).toBe("alice");
  });

  it("check names as the server does", () => {
    expect(modelNameError("asian-2_b")).toBeNull();
    expect(modelNameError("")).toBe("is required");
    expect(modelNameError("2fast")).toMatch(/start with a letter/);
    expect(modelNameError("a b")).toMatch(/got 'a b'/);
    expect(modelNameError("a".repeat(65))).toMatch(/at most 64/);
  });

  it("default a name to the file's stem", () => {
    expect(defaultModelName("asian.py")).toBe("asian");
    expect(defaultModelName("C:\\work\\my model.v2.py")).toBe("my_model_v2");
    expect(defaultModelName("2d walk.py")).toBe("m_2d_walk");
    expect(defaultModelName(".py")).toBe("");
  });
});

describe("where a registration error points", () => {
  it("reads the file and line a message starts with", () => {
    expect(errorLocation("model.py:3: invalid syntax (expected ':')")).toEqual({ file: "model.py", line: 3 });
    expect(errorLocation("pkg/asian.py:12: parameter 'steps': annotation list[int] is not float")).toEqual({ file: "pkg/asian.py", line: 12 });
  });

  it("finds nothing in a message without a line", () => {
    expect(errorLocation("asian.py: imports 'quantlib', which the runtime does not have")).toBeUndefined();
    expect(errorLocation("the model name x is taken; push under another --name")).toBeUndefined();
    expect(errorLocation("model.py:0: nothing")).toBeUndefined();
    expect(errorLocation("see http://x:80: down")).toBeUndefined();
  });

  it("gives the range of a line in the text", () => {
    const text = "a = 1\ndef f(:\n  pass";
    expect(lineRange(text, 1)).toEqual([0, 5]);
    expect(text.slice(...lineRange(text, 2))).toBe("def f(:");
    expect(text.slice(...lineRange(text, 3))).toBe("  pass");
    expect(lineRange(text, 9)).toEqual([text.length, text.length]);
  });
});
