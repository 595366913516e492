import { beforeEach, describe, expect, it, vi } from "vitest";
import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import * as Plotly from "plotly.js-basic-dist-min";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EventKind, JobState, StopReason, type Job } from "../../gen/simlab/v1/simulation_pb";
import { resetJobFeeds } from "../../state/job";
import { renderAt } from "../../test/render";
import { event, fakeClient, flush, job, type FakeClient } from "../../test/fake";

beforeEach(() => resetJobFeeds());

async function snapshot(fake: FakeClient, j: Job, end = false) {
  await act(flush);
  await act(async () => {
    fake.streams[0]!.push(event(j.seq, EventKind.SNAPSHOT, j));
    if (end) fake.streams[0]!.end();
    await flush();
  });
}

const precision = { relTol: 0.01, confidence: 0.99, minBlocks: 10 };

describe("Stop at precision on the form", () => {
  it("sends the target and the cache choice, validating like the rest of the form", async () => {
    const fake = fakeClient();
    renderAt("/new", fake);
    fireEvent.change(await screen.findByLabelText(/Spot price/), { target: { value: "100" } });
    expect(screen.getByTestId("sample-tag").textContent).toBe("samples");
    expect(screen.queryByLabelText("Relative tolerance")).toBeNull();
    fireEvent.click(screen.getByLabelText("Stop as soon as the estimate is precise enough"));
    await waitFor(() => expect(screen.getByTestId("sample-tag").textContent).toBe("budget: max samples"));
    fireEvent.change(screen.getByLabelText("Confidence"), { target: { value: "1.5" } });
    fireEvent.click(screen.getByRole("button", { name: "Run simulation" }));
    expect((await screen.findByTestId("error-precision.rel_tol")).textContent).toBe("set a relative or an absolute tolerance (or both)");
    expect(screen.getByTestId("error-precision.confidence").textContent).toBe("must be in (0, 1), got 1.5");
    expect(fake.fns.submitJob).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText("Relative tolerance"), { target: { value: "0.001" } });
    fireEvent.change(screen.getByLabelText("Confidence"), { target: { value: "99%" } });
    fireEvent.click(screen.getByLabelText("Two-stage"));
    fireEvent.click(screen.getByLabelText("Reuse a cached result"));
    fireEvent.click(screen.getByRole("button", { name: "Run simulation" }));
    await waitFor(() => expect(window.location.pathname).toBe("/runs/job-new"));
    expect(fake.fns.submitJob!.mock.calls[0]![0]).toMatchObject({
      precision: { relTol: 0.001, absTol: 0, confidence: 0.99, minBlocks: 10, twoStage: true },
      noCache: true,
    });
  });

  it("sends no precision while the section is off, and reuses the cache by default", async () => {
    const fake = fakeClient();
    renderAt("/new", fake);
    fireEvent.change(await screen.findByLabelText(/Spot price/), { target: { value: "100" } });
    fireEvent.click(screen.getByRole("button", { name: "Run simulation" }));
    await waitFor(() => expect(fake.fns.submitJob).toHaveBeenCalled());
    const req = fake.fns.submitJob!.mock.calls[0]![0];
    expect(req.precision).toBeUndefined();
    expect(req.noCache).toBe(false);
  });

  it("prefills Run again with the run's precision", async () => {
    const fake = fakeClient({ getJob: async () => job({ jobId: "old", precision: { absTol: 0.05, twoStage: true } }) });
    renderAt("/new?from=old", fake);
    expect(((await screen.findByLabelText("Absolute tolerance")) as HTMLInputElement).value).toBe("0.05");
    expect((screen.getByLabelText("Two-stage") as HTMLInputElement).checked).toBe(true);
  });
});

describe("a run with a precision target", () => {
  it("shows the samples and time to target while running, and the target band on the chart", async () => {
    const fake = fakeClient({
      getProgressHistory: async () => ({ points: [{ seq: 2n, samplesDone: 100000n, estimate: 10, stderr: 0.5 }] }),
    });
    renderAt("/runs/job-1", fake);
    const running = job({
      state: JobState.RUNNING,
      seq: 3n,
      precision,
      // 200,000 samples in the 10 s since it started: 2.2M more take about 110 s.
      history: [{ state: JobState.RUNNING, at: timestampFromMs(Date.now() - 10_000) }],
      progress: { samplesDone: 200000n, samplesTotal: 10000000n, blocksDone: 2n, blocksTotal: 100n, estimate: 10, stderr: 0.2, samplesToTarget: 2400000n },
    });
    await snapshot(fake, running);
    expect(screen.getByTestId("time-to-target").textContent).toMatch(/^Target ±0\.1 at 99 % · ≈ 2\.4M samples to target, ~1m 5\ds left$/);
    await waitFor(() => {
      const calls = vi.mocked(Plotly.react).mock.calls;
      const traces = calls[calls.length - 1]?.[1] as { name?: string; y?: number[] }[] | undefined;
      const band = traces?.find((t) => t.name?.startsWith("Target"));
      expect(band?.name).toBe("Target ±0.1 (99 %)");
      expect(band?.y).toEqual([9.9, 9.9]);
    });
  });

  it("times a top-up from the sample rate the page observes", async () => {
    const clock = vi.spyOn(Date, "now").mockReturnValue(1_700_000_000_000);
    try {
      const fake = fakeClient();
      renderAt("/runs/job-5", fake);
      const at = (seq: bigint, samplesDone: bigint) =>
        job({
          jobId: "job-5",
          state: JobState.RUNNING,
          seq,
          precision,
          extends: "src-run",
          history: [{ state: JobState.RUNNING, at: timestampFromMs(1_700_000_000_000 - 1000) }],
          progress: { samplesDone, samplesTotal: 10_000_000n, blocksDone: 10n, blocksTotal: 100n, estimate: 10, stderr: 0.1, samplesToTarget: 3_000_000n },
        });
      // Its progress starts with the reused blocks: no rate until the page has seen some drawn.
      await snapshot(fake, at(3n, 1_000_000n));
      expect(screen.getByTestId("time-to-target").textContent).toMatch(/≈ 3\.0M samples to target$/);
      clock.mockReturnValue(1_700_000_010_000);
      await act(async () => {
        fake.streams[0]!.push(event(4n, EventKind.PROGRESS, at(4n, 1_200_000n)));
        await flush();
      });
      // 200,000 samples in 10 s: the 1.8M left take 90 s.
      expect(screen.getByTestId("time-to-target").textContent).toMatch(/≈ 3\.0M samples to target, ~1m 30s left$/);
    } finally {
      clock.mockRestore();
    }
  });

  it("shows where a finished run stopped and the cache it came from, linked", async () => {
    const fake = fakeClient();
    renderAt("/runs/job-2", fake);
    const done = job({
      jobId: "job-2",
      state: JobState.SUCCEEDED,
      seq: 9n,
      precision,
      cachedFrom: "abcdef0123456789",
      summary: { price: 10, target: 0.1 },
      progress: { samplesDone: 3400000n, samplesTotal: 10000000n, blocksDone: 36n, blocksTotal: 100n, estimate: 10, stderr: 0.03 },
      stop: { reason: StopReason.PRECISION_REACHED, firstBlock: 0n, endBlock: 34n, samplesUsed: 3400000n, halfWidth: 0.0773, confidence: 0.99, blocksDiscarded: 2n },
    });
    await snapshot(fake, done, true);
    expect(screen.getByTestId("stop-reason").textContent).toBe("Precision reached");
    expect(screen.getByTestId("stop-half-width").textContent).toBe("±0.0773 (target ±0.1) at 99 %");
    expect(screen.getByTestId("stop-blocks").textContent).toBe("34");
    expect(screen.getByTestId("stop-samples").textContent).toBe("3,400,000");
    expect(screen.getByTestId("stop-discarded").textContent).toBe("2");
    // The keys the worker adds to the summary read as words.
    expect(screen.getByTestId("summary-table").textContent).toContain("Target half-width");
    // Done: the blocks it needed are all in, though the budget was not spent.
    expect(screen.getByTestId("progress").getAttribute("aria-valuenow")).toBe("100");
    expect(screen.getByTestId("progress-samples").textContent).toMatch(/stops at block 34$/);
    expect(screen.getByTestId("run-precision").textContent).toBe("±1 % of |estimate| at 99 %, sequential, pilot 10 blocks");
    expect(screen.queryByTestId("time-to-target")).toBeNull();
    const cached = screen.getByTestId("cached-from");
    expect(cached.textContent).toBe("cached from abcdef01");
    expect(cached.getAttribute("href")).toBe("/runs/abcdef0123456789");
  });

  it("adds samples to a finished run and goes to the new run", async () => {
    const fake = fakeClient();
    renderAt("/runs/job-3", fake);
    await snapshot(fake, job({ jobId: "job-3", state: JobState.SUCCEEDED, seq: 9n, precision, progress: { samplesTotal: 1000000n } }), true);
    fireEvent.click(screen.getByTestId("add-samples"));
    expect((screen.getByLabelText("Relative tolerance") as HTMLInputElement).value).toBe("0.01");
    fireEvent.click(screen.getByTestId("extend-submit"));
    expect(screen.getByTestId("error-samples").textContent).toBe("give a new sample budget or a tighter tolerance");
    fireEvent.change(screen.getByLabelText("New sample budget"), { target: { value: "4e7" } });
    fireEvent.change(screen.getByLabelText("Relative tolerance"), { target: { value: "0.001" } });
    fireEvent.click(screen.getByTestId("extend-submit"));
    await waitFor(() => expect(window.location.pathname).toBe("/runs/job-ext"));
    expect(fake.fns.extendJob!.mock.calls[0]![0]).toMatchObject({
      jobId: "job-3",
      samples: 40000000n,
      precision: { relTol: 0.001, absTol: 0, confidence: 0.99, minBlocks: 10, twoStage: false },
    });
  });

  it("offers no Add samples on a run still going", async () => {
    const fake = fakeClient();
    renderAt("/runs/job-4", fake);
    await snapshot(fake, job({ jobId: "job-4", state: JobState.RUNNING, seq: 2n, extends: "src-run" }));
    expect(screen.queryByTestId("add-samples")).toBeNull();
    expect(screen.getByTestId("extends").getAttribute("href")).toBe("/runs/src-run");
  });
});
