import { describe, expect, it } from "vitest";
import { createStore } from "jotai";
import { Code, ConnectError } from "@connectrpc/connect";
import { clientAtom } from "./client";
import { modelsAtom } from "./models";
import { editUploadAtom, pushModelAtom, pushStateAtom, uploadDraftAtom, uploadErrorsAtom, uploadPathAtom } from "./upload";
import { invalidArgument } from "../test/errors";
import { fakeClient, flush } from "../test/fake";

function setup(over: Parameters<typeof fakeClient>[0] = {}) {
  const fake = fakeClient(over);
  const store = createStore();
  store.set(clientAtom, fake.client);
  return { fake, store };
}

const CODE = "def simulate(rng, n, *, scale: float = 2.0):\n    return scale * rng.random(n)\n";

describe("the upload atoms", () => {
  it("name a dropped file after its stem, unless a name was typed", () => {
    const { store } = setup();
    store.set(editUploadAtom, { type: "file", name: "asian option.py", code: CODE });
    expect(store.get(uploadPathAtom)).toBe("asian option.py");
    expect(store.get(uploadDraftAtom)).toMatchObject({ name: "asian_option", code: CODE });
    store.set(editUploadAtom, { type: "file", name: "walk.py", code: "print(1)\n" });
    expect(store.get(uploadDraftAtom).name).toBe("walk");
    store.set(editUploadAtom, { type: "name", value: "mine" });
    store.set(editUploadAtom, { type: "file", name: "other.py", code: CODE });
    expect(store.get(uploadDraftAtom)).toMatchObject({ name: "mine", fileName: "other.py" });
    store.set(editUploadAtom, { type: "clear" });
    expect(store.get(uploadPathAtom)).toBe("model.py");
  });

  it("refuse to push without code or with a bad name, without calling the server", async () => {
    const { store, fake } = setup();
    expect(await store.set(pushModelAtom)).toBeNull();
    expect(store.get(uploadErrorsAtom)).toEqual({ name: "is required", code: "Paste the code, or drop a .py file here." });
    store.set(editUploadAtom, { type: "name", value: "9lives" });
    expect(store.get(uploadErrorsAtom).name).toMatch(/start with a letter/);
    expect(fake.fns.pushModel).not.toHaveBeenCalled();
  });

  it("push pasted code as model.py, then reload the catalogue", async () => {
    const { store, fake } = setup();
    const unsub = store.sub(modelsAtom, () => {});
    await flush();
    store.set(editUploadAtom, { type: "code", value: CODE });
    store.set(editUploadAtom, { type: "name", value: "scaled" });
    store.set(editUploadAtom, { type: "public", value: true });
    const pushing = store.set(pushModelAtom);
    expect(store.get(pushStateAtom)).toMatchObject({ status: "pushing", name: "scaled" });
    const model = await pushing;
    expect(model?.name).toBe("scaled");
    const req = fake.fns.pushModel!.mock.calls[0]![0];
    expect(req).toMatchObject({ name: "scaled", entry: "model.py", public: true });
    expect(req.files).toHaveLength(1);
    expect(req.files[0].path).toBe("model.py");
    expect(new TextDecoder().decode(req.files[0].data)).toBe(CODE);
    expect(store.get(pushStateAtom)).toMatchObject({ status: "done", created: true });
    await flush();
    expect(fake.fns.listModels).toHaveBeenCalledTimes(2);
    unsub();
  });

  it("keep the server's message and the line it points at in the code sent", async () => {
    const { store } = setup({
      pushModel: async () => {
        throw invalidArgument("code", "model.py:2: invalid syntax (expected ':')");
      },
    });
    store.set(editUploadAtom, { type: "code", value: "x = 1\ndef f(\n" });
    store.set(editUploadAtom, { type: "name", value: "broken" });
    expect(await store.set(pushModelAtom)).toBeNull();
    expect(store.get(pushStateAtom)).toMatchObject({
      status: "failed",
      message: "model.py:2: invalid syntax (expected ':')",
      line: 2,
      code: "x = 1\ndef f(\n",
      path: "model.py",
    });
    // Without the detail naming the field, the message's "code: " prefix is not part of it.
    const bare = setup({
      pushModel: async () => {
        throw new ConnectError("code: model.py:1: unexpected indent", Code.InvalidArgument);
      },
    });
    bare.store.set(editUploadAtom, { type: "code", value: "  x = 1\n" });
    bare.store.set(editUploadAtom, { type: "name", value: "indented" });
    await bare.store.set(pushModelAtom);
    expect(bare.store.get(pushStateAtom)).toMatchObject({ message: "model.py:1: unexpected indent", line: 1 });
    // Editing the code starts over.
    store.set(editUploadAtom, { type: "code", value: "x = 2\n" });
    expect(store.get(pushStateAtom)).toEqual({ status: "idle" });
  });

  it("mark no line when the message is about another file, and show a name error at the name", async () => {
    const { store } = setup({
      pushModel: async () => {
        throw invalidArgument("code", "helpers.py:4: invalid syntax");
      },
    });
    store.set(editUploadAtom, { type: "file", name: "walk.py", code: "import helpers\n" });
    await store.set(pushModelAtom);
    const state = store.get(pushStateAtom);
    expect(state).toMatchObject({ status: "failed", message: "helpers.py:4: invalid syntax", path: "walk.py" });
    expect("line" in state).toBe(false);

    const taken = setup({
      pushModel: async () => {
        throw invalidArgument("name", "the model name walk is taken; push under another --name");
      },
    });
    taken.store.set(editUploadAtom, { type: "file", name: "walk.py", code: "print(1)\n" });
    await taken.store.set(pushModelAtom);
    expect(taken.store.get(uploadErrorsAtom).name).toBe("the model name walk is taken; push under another --name");
  });
});
