import { beforeEach, describe, expect, it } from "vitest";
import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EventKind, JobState, ModelKind, ModelSchema } from "../../gen/simlab/v1/simulation_pb";
import { resetJobFeeds } from "../../state/job";
import { modelVersionAtom, modelVersionsAtom } from "../../state/models";
import { invalidArgument } from "../../test/errors";
import { event, fakeClient, flush, job, optionModel, scriptModel } from "../../test/fake";
import { renderAt } from "../../test/render";

const builtin = () => create(ModelSchema, { ...optionModel(), version: 1, builtin: true, codeSha256: "11".repeat(32) });
const mine = (version = 2) =>
  create(ModelSchema, {
    ...optionModel(),
    name: "scaled",
    title: "Scaled uniform",
    version,
    owner: "alice",
    kind: ModelKind.BLOCKS,
    codeSha256: "cd".repeat(32),
    files: ["scaled.py"],
    entry: "scaled.py",
    imports: ["numpy"],
    warnings: ["not deterministic: block 0 differs"],
    runtime: "local (Python 3.11.9, NumPy 2.1.0, SciPy 1.14.1)",
    createdAt: timestampFromMs(Date.UTC(2026, 10, 29, 12)),
  });

beforeEach(() => {
  resetJobFeeds();
  modelVersionAtom.clear();
  modelVersionsAtom.clear();
});

describe("Models page", () => {
  it("lists the models, each with its versions, code and Run", async () => {
    const fake = fakeClient({
      listModels: async () => ({ models: [builtin(), mine()] }),
      listModelVersions: async () => ({ versions: [mine(2), mine(1)] }),
    });
    renderAt("/models", fake);
    const row = await screen.findByTestId("model-row-scaled");
    expect(within(row).getByTestId("model-latest").textContent).toBe("v2");
    expect(row.textContent).toContain("alice");
    expect(row.textContent).toContain("Private");
    expect(screen.getByTestId("model-row-european_option").textContent).toContain("built-in");
    // Pushed models first.
    expect([...document.querySelectorAll("[data-model-row]")].map((r) => r.getAttribute("data-model-row"))).toEqual(["scaled", "european_option"]);
    fireEvent.click(screen.getByTestId("model-toggle-scaled"));
    const v1 = await screen.findByTestId("version-scaled@v1");
    expect(fake.fns.listModelVersions).toHaveBeenCalledWith({ name: "scaled" });
    expect(within(v1).getByTestId("sha-scaled@v1").textContent).toBe("cdcdcdcdcdcd");
    expect(within(v1).getByTestId("download-code-scaled@v1").getAttribute("href")).toBe("/code/models/scaled@v1");
    expect(v1.textContent).toContain("numpy");
    expect(v1.textContent).toContain("not deterministic");
    fireEvent.click(within(v1).getByTestId("run-scaled@v1"));
    await waitFor(() => expect(window.location.search).toBe("?model=scaled%40v1"));
    // Not the latest, so fetched by reference.
    expect((await screen.findByTestId("form-model-ref")).textContent).toBe("scaled@v1");
    expect(fake.fns.getModel).toHaveBeenCalledWith({ model: "scaled@v1" });
    expect(screen.getByText("latest is v2")).toBeTruthy();
  });

  it("pushes pasted code, says it is registering, then shows name@vN and the schema", async () => {
    let answer: (v: unknown) => void = () => {};
    const fake = fakeClient({
      pushModel: () => new Promise((res) => (answer = res)),
    });
    renderAt("/models", fake);
    fireEvent.change(await screen.findByTestId("upload-code"), { target: { value: "def simulate(rng, n, *, scale: float = 2.0):\n    return scale * rng.random(n)\n" } });
    fireEvent.change(screen.getByTestId("upload-name"), { target: { value: "scaled" } });
    fireEvent.click(screen.getByTestId("upload-submit"));
    expect((await screen.findByTestId("push-progress")).textContent).toMatch(/Registering scaled/);
    await act(async () => {
      answer({ model: mine(1), created: true });
      await flush();
    });
    expect(screen.getByTestId("push-ref").textContent).toBe("scaled@v1");
    expect(screen.getByTestId("push-created")).toBeTruthy();
    const schema = within(screen.getByTestId("push-result")).getByTestId("schema-params");
    expect(within(schema).getByTestId("default-volatility").textContent).toBe("0.2");
    expect(within(schema).getByTestId("default-spot").textContent).toBe("required");
    expect(screen.getByTestId("push-run").getAttribute("href")).toBe("/new?model=scaled%40v1");
  });

  it("shows why code was refused, with the line it points at marked", async () => {
    const fake = fakeClient({
      pushModel: async () => {
        throw invalidArgument("code", "model.py:2: invalid syntax");
      },
    });
    renderAt("/models", fake);
    fireEvent.change(await screen.findByTestId("upload-code"), { target: { value: "x = 1\ndef f(:\n  pass\n" } });
    fireEvent.change(screen.getByTestId("upload-name"), { target: { value: "broken" } });
    fireEvent.click(screen.getByTestId("upload-submit"));
    expect((await screen.findByTestId("push-error")).textContent).toContain("model.py:2: invalid syntax");
    const line = screen.getByTestId("error-line");
    expect(line.getAttribute("data-line")).toBe("2");
    expect(line.textContent).toBe("2def f(:\n");
    fireEvent.click(screen.getByRole("button", { name: "Select line 2 in the code" }));
    const area = screen.getByTestId("upload-code") as HTMLTextAreaElement;
    expect(area.value.slice(area.selectionStart, area.selectionEnd)).toBe("def f(:");
  });
});

describe("script models", () => {
  it("get free-form parameters, arguments and one shard on the New simulation form", async () => {
    const fake = fakeClient({ listModels: async () => ({ models: [builtin(), scriptModel()] }) });
    renderAt("/new?model=render", fake);
    expect((await screen.findByTestId("form-model-ref")).textContent).toBe("render@v2");
    expect(screen.getByTestId("model-meta-render").textContent).toBe("alice · private · script");
    expect((screen.getByLabelText("Shards") as HTMLInputElement).disabled).toBe(true);
    fireEvent.change(screen.getByLabelText("Parameter 1 name"), { target: { value: "frames" } });
    fireEvent.change(screen.getByLabelText("Parameter 1 value"), { target: { value: "{oops" } });
    fireEvent.click(screen.getByRole("button", { name: "Run simulation" }));
    expect((await screen.findByTestId("error-rows.0")).textContent).toMatch(/^row 1 \('frames'\): the value is not JSON/);
    fireEvent.change(screen.getByLabelText("Parameter 1 value"), { target: { value: "24" } });
    fireEvent.change(screen.getByLabelText("Arguments"), { target: { value: "--fast 'out dir'" } });
    fireEvent.click(screen.getByRole("button", { name: "Run simulation" }));
    await waitFor(() => expect(window.location.pathname).toBe("/runs/job-new"));
    expect(fake.fns.submitJob!.mock.calls[0]![0]).toMatchObject({ model: "render@v2", parameters: { frames: 24 }, args: ["--fast", "out dir"], shards: 1 });
  });

  it("show the code a run ran, its progress in its own units and its PNGs", async () => {
    const fake = fakeClient({
      getModel: async () => scriptModel(),
      listArtifacts: async () => ({ artifacts: [{ name: "frames/f1.png", size: 10n }, { name: "summary.json", size: 5n }] }),
    });
    const script = (init: Parameters<typeof job>[0]) =>
      job({ model: "render", modelVersion: 2, codeSha256: "ab".repeat(32), args: ["--fast"], primaryOutput: "", runtime: "local (Python 3.11.9)", ...init });
    renderAt("/runs/job-1", fake);
    await act(flush);
    await act(async () => {
      fake.streams[0]!.push(event(3n, EventKind.SNAPSHOT, script({ state: JobState.RUNNING, seq: 3n, progress: { samplesDone: 7n, samplesTotal: 0n, estimate: 1.5 } })));
      await flush();
    });
    expect(screen.getByTestId("run-model").textContent).toBe("render@v2 · alice");
    expect(screen.getByTestId("run-model-ref").textContent).toBe("render@v2");
    expect(screen.getByTestId("run-model-owner").textContent).toBe("alice");
    expect(screen.getByTestId("run-code-sha").textContent).toBe("abababababab");
    expect(screen.getByTestId("download-code").getAttribute("href")).toBe("/code/jobs/job-1");
    expect(screen.getByTestId("run-args").textContent).toBe("--fast");
    expect(screen.getByTestId("progress-samples").textContent).toBe("7 done");
    expect(screen.getByTestId("progress-pct").textContent).toBe("—");
    expect(screen.getByText(/against progress/)).toBeTruthy();
    await act(async () => {
      fake.streams[0]!.push(event(4n, EventKind.STATE, script({ state: JobState.SUCCEEDED, seq: 4n, summary: { frames: 24 } })));
      await flush();
    });
    const img = await screen.findByTestId("artifact-image");
    expect(img.getAttribute("src")).toBe("/files/job-1/frames/f1.png?inline=1");
    expect(screen.queryByTestId("plot-png")).toBeNull();
  });
});

describe("dropping a file", () => {
  it("takes a .py file's code and names the model after it, and refuses other files", async () => {
    renderAt("/models", fakeClient());
    const card = await screen.findByTestId("upload");
    fireEvent.drop(card, { dataTransfer: { files: [new File(["print('hi')\n"], "notes.txt")] } });
    expect((await screen.findByRole("alert")).textContent).toContain("notes.txt is not a Python file");
    fireEvent.drop(card, { dataTransfer: { files: [new File(["def simulate(rng, n):\n    return rng.random(n)\n"], "random walk.py")] } });
    await waitFor(() => expect((screen.getByTestId("upload-code") as HTMLTextAreaElement).value).toContain("def simulate"));
    expect((screen.getByTestId("upload-name") as HTMLInputElement).value).toBe("random_walk");
    expect(screen.getByText("random walk.py")).toBeTruthy();
  });
});
