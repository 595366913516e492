import { describe, expect, it } from "vitest";
import { createStore } from "jotai";
import { clientAtom } from "./client";
import { editFormAtom, fieldErrorsAtom, presetsAtom, runFormAtom, savePresetAtom, submitFormAtom } from "./form";
import { invalidArgument } from "../test/errors";
import { fakeClient, flush, optionModel, scriptModel } from "../test/fake";

function setup(over: Parameters<typeof fakeClient>[0] = {}) {
  const fake = fakeClient(over);
  const store = createStore();
  store.set(clientAtom, fake.client);
  store.set(editFormAtom, { type: "selectModel", model: optionModel() });
  return { fake, store };
}

describe("the form atoms", () => {
  it("start from the model's defaults and show errors of touched fields only", () => {
    const { store } = setup();
    expect(store.get(runFormAtom).values.volatility).toBe("0.2");
    expect(store.get(fieldErrorsAtom)).toEqual({});
    store.set(editFormAtom, { type: "field", name: "volatility", value: "-1" });
    expect(store.get(fieldErrorsAtom)).toEqual({ "parameters.volatility": "must be > 0 (got -1)" });
  });

  it("show every error after a submit attempt and do not call the server", async () => {
    const { store, fake } = setup();
    expect(await store.set(submitFormAtom)).toBeNull();
    expect(store.get(fieldErrorsAtom)).toEqual({ "parameters.spot": "is required" });
    expect(fake.fns.submitJob).not.toHaveBeenCalled();
  });

  it("submit typed parameters with an idempotency key", async () => {
    const { store, fake } = setup();
    store.set(editFormAtom, { type: "field", name: "spot", value: "100" });
    store.set(editFormAtom, { type: "seed", value: "42" });
    const job = await store.set(submitFormAtom);
    expect(job?.jobId).toBe("job-new");
    const req = fake.fns.submitJob!.mock.calls[0]![0];
    expect(req).toMatchObject({
      model: "european_option",
      parameters: { spot: 100, volatility: 0.2, option_type: "call", paths: 1000000, antithetic: false },
      seed: 42n,
      shards: 1,
    });
    expect(req.requestId).toMatch(/.{8,}/);
  });

  it("show a server error at the field it names until that field changes", async () => {
    const { store } = setup({
      submitJob: async () => {
        throw invalidArgument("shards", "must be <= 10: the run has 10 block(s) (got 50)");
      },
    });
    store.set(editFormAtom, { type: "field", name: "spot", value: "100" });
    store.set(editFormAtom, { type: "shards", value: "50" });
    expect(await store.set(submitFormAtom)).toBeNull();
    expect(store.get(fieldErrorsAtom)).toEqual({ shards: "must be <= 10: the run has 10 block(s) (got 50)" });
    store.set(editFormAtom, { type: "shards", value: "5" });
    expect(store.get(fieldErrorsAtom)).toEqual({});
  });

  it("save presets server-side and list them", async () => {
    const saved: unknown[] = [];
    const { store, fake } = setup({
      savePreset: async (req: never) => {
        saved.push(req);
        return {};
      },
      listPresets: async () => ({ presets: saved.map((r) => (r as { preset: unknown }).preset) }),
    });
    const unsub = store.sub(presetsAtom, () => {});
    store.set(editFormAtom, { type: "field", name: "spot", value: "101" });
    expect(await store.set(savePresetAtom, " mine ")).toBeNull();
    await flush();
    await flush();
    expect(saved[0]).toMatchObject({ preset: { name: "mine", model: "european_option", parameters: { spot: 101 } } });
    expect(store.get(presetsAtom)?.presets.map((p) => p.name)).toEqual(["mine"]);
    expect(fake.fns.listPresets).toHaveBeenCalledWith({ model: "european_option" });
    unsub();
  });

  it("submit a script's rows and arguments to name@vN, on one shard, naming a bad row", async () => {
    const { store, fake } = setup();
    store.set(editFormAtom, { type: "selectModel", model: scriptModel() });
    expect(store.get(runFormAtom)).toMatchObject({ model: "render@v2", rows: [{ key: "", value: "" }], args: "", shards: "1" });
    store.set(editFormAtom, { type: "row", index: 0, key: "frames", value: "[1, 2" });
    store.set(editFormAtom, { type: "addRow" });
    store.set(editFormAtom, { type: "row", index: 1, key: "style", value: "dark" });
    store.set(editFormAtom, { type: "args", value: "--out 'my dir'" });
    expect(await store.set(submitFormAtom)).toBeNull();
    expect(store.get(fieldErrorsAtom)["rows.0"]).toMatch(/^row 1 \('frames'\): the value is not JSON/);
    store.set(editFormAtom, { type: "row", index: 0, value: "[1, 2]" });
    expect((await store.set(submitFormAtom))?.jobId).toBe("job-new");
    expect(fake.fns.submitJob!.mock.calls[0]![0]).toMatchObject({
      model: "render@v2",
      parameters: { frames: [1, 2], style: "dark" },
      args: ["--out", "my dir"],
      shards: 1,
    });
  });

  it("load a script run to repeat with its parameters and arguments", () => {
    const { store } = setup();
    store.set(editFormAtom, { type: "load", model: scriptModel(), parameters: { n: 3 }, shards: 4, args: ["-v", "a b"] });
    expect(store.get(runFormAtom)).toMatchObject({ rows: [{ key: "n", value: "3" }], args: "-v 'a b'", shards: "1" });
  });
});
