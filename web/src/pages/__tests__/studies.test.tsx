import { beforeEach, describe, expect, it, vi } from "vitest";
import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import * as Plotly from "plotly.js-basic-dist-min";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ComparePointsResponseSchema, EventKind, JobState, StudyDesign, StudyState, type StudyPoint } from "../../gen/simlab/v1/simulation_pb";
import { resetJobFeeds } from "../../state/job";
import { resetStudyFeeds } from "../../state/study";
import { renderAt } from "../../test/render";
import { invalidArgument } from "../../test/errors";
import { donePoint, event, fakeClient, flush, job, study, studyEvent, studyPoint, type FakeClient } from "../../test/fake";
import { ROW_HEIGHT, VIEW_HEIGHT } from "../../components/study/PointsTable";

beforeEach(() => {
  resetStudyFeeds();
  resetJobFeeds();
  sessionStorage.clear();
  vi.mocked(Plotly.react).mockClear();
});

const field = (name: string) => document.querySelector<HTMLInputElement>(`[data-field="${name}"]`)!;
const mode = (param: string, m: string) => document.querySelector<HTMLElement>(`[data-field="sweep.${param}.mode"][data-mode="${m}"]`)!;

/** Opens the study page and sends one snapshot event with these points. */
async function openStudy(fake: FakeClient, points: StudyPoint[], s = study(), path = "/studies/study-1") {
  renderAt(path, fake);
  await act(flush);
  await act(async () => {
    fake.studyStreams[0]!.push(studyEvent(s, points, true));
    await flush();
  });
}

const sixPoints = () => [donePoint(0, 1.5, 0.1), donePoint(1, 3.25, 0.1), donePoint(2, 2.5, 0.1), studyPoint(3, { state: JobState.RUNNING, seq: 2n }), studyPoint(4), studyPoint(5)];

describe("New study", () => {
  it("sweeps parameters from the model's schema, counts the points and submits one StudySpec", async () => {
    const fake = fakeClient();
    renderAt("/studies/new", fake);
    await screen.findByTestId("sweep-spot");
    fireEvent.change(field("parameters.spot"), { target: { value: "100" } });
    expect(screen.getByTestId("crn-help").textContent).toMatch(/same random numbers at every point: differences between points are far more precise/i);
    expect(screen.getByTestId("study-point-count").textContent).toMatch(/Sweep a parameter/);

    fireEvent.click(mode("volatility", "range"));
    fireEvent.change(field("sweep.volatility.start"), { target: { value: "0.1" } });
    fireEvent.change(field("sweep.volatility.stop"), { target: { value: "0.3" } });
    fireEvent.change(field("sweep.volatility.count"), { target: { value: "3" } });
    // A choice swept as a list starts with every choice.
    fireEvent.click(mode("option_type", "list"));
    expect(field("sweep.option_type.values").value).toBe("call, put");
    expect(screen.getByTestId("study-point-count").textContent).toBe("6 points, each a run");
    fireEvent.click(field("crn"));
    fireEvent.change(field("seed"), { target: { value: "11" } });
    fireEvent.click(screen.getByTestId("submit-study"));

    await waitFor(() => expect(window.location.pathname).toBe("/studies/study-new"));
    const req = fake.fns.submitStudy!.mock.calls[0]![0];
    expect(req.requestId).toBeTruthy();
    expect(req.spec).toMatchObject({ model: "european_option", design: StudyDesign.GRID, crn: true, seed: 11n, shards: 1 });
    expect(req.spec.parameters).toEqual({ spot: 100, paths: 1000000, antithetic: false });
    expect(req.spec.axes.map((a: { parameter: string }) => a.parameter)).toEqual(["volatility", "option_type"]);
  });

  it("shows its own errors at the field once touched, and the server's at the axis's row", async () => {
    const fake = fakeClient({
      submitStudy: async () => {
        throw invalidArgument("spec.axes[0].values[1]", "volatility must be <= 5 (got 7)");
      },
    });
    renderAt("/studies/new", fake);
    await screen.findByTestId("sweep-spot");
    fireEvent.change(field("parameters.spot"), { target: { value: "100" } });
    fireEvent.click(mode("volatility", "range"));
    fireEvent.change(field("sweep.volatility.start"), { target: { value: "0.1" } });
    fireEvent.change(field("sweep.volatility.stop"), { target: { value: "0.5" } });
    fireEvent.change(field("sweep.volatility.count"), { target: { value: "1" } });
    fireEvent.blur(field("sweep.volatility.count"));
    expect((await screen.findByTestId("error-sweep.volatility.count")).textContent).toBe("must be at least 2, got 1");
    expect(screen.getByTestId("submit-study").textContent).toBe("Start study");

    // Sampled designs ask for a number of points instead of the range's.
    fireEvent.click(document.querySelector('[data-field="design"][data-design="sobol"]')!);
    expect(field("sweep.volatility.count")).toBeNull();
    expect(screen.getByTestId("study-point-count").textContent).toBe("256 points, each a run");
    fireEvent.click(document.querySelector('[data-field="design"][data-design="grid"]')!);

    fireEvent.click(mode("volatility", "list"));
    fireEvent.change(field("sweep.volatility.values"), { target: { value: "0.2, 0.3" } });
    fireEvent.click(mode("spot", "list"));
    fireEvent.change(field("sweep.spot.values"), { target: { value: "90, 110" } });
    fireEvent.click(screen.getByTestId("submit-study"));
    // The server's axes[0] is the first swept parameter in schema order: spot.
    expect((await screen.findByTestId("error-sweep.spot.values")).textContent).toBe("value 2: volatility must be <= 5 (got 7)");
    expect(window.location.pathname).toBe("/studies/new");
  });

  it("says when the grid has too many points", async () => {
    renderAt("/studies/new", fakeClient());
    await screen.findByTestId("sweep-spot");
    fireEvent.click(mode("spot", "range"));
    fireEvent.change(field("sweep.spot.start"), { target: { value: "50" } });
    fireEvent.change(field("sweep.spot.stop"), { target: { value: "150" } });
    fireEvent.change(field("sweep.spot.count"), { target: { value: "101" } });
    fireEvent.click(mode("volatility", "range"));
    fireEvent.change(field("sweep.volatility.start"), { target: { value: "0.1" } });
    fireEvent.change(field("sweep.volatility.stop"), { target: { value: "1" } });
    fireEvent.change(field("sweep.volatility.count"), { target: { value: "100" } });
    expect(screen.getByTestId("study-point-count").textContent).toBe("the grid has 101 x 100 = 10,100 points; a study has at most 10,000");
    expect(screen.getByTestId("submit-study").textContent).toBe("Start study");
  });
});

describe("Study page", () => {
  it("fills chart, counts and table from one WatchStudy stream and ends with the study", async () => {
    const fake = fakeClient();
    await openStudy(fake, sixPoints(), study({ counts: { queued: 2, running: 1, succeeded: 3 }, pointsPerSecond: 0.5, etaSeconds: 6, queueAhead: 4n }));
    expect(screen.getByTestId("study-title").textContent).toBe("Smile");
    expect(screen.getByTestId("study-state").textContent).toBe("Running");
    expect(screen.getByTestId("study-design").textContent).toBe("Grid 3 × 2");
    expect(screen.getByTestId("study-seeds").textContent).toMatch(/Common random numbers · seed 42/);
    expect(screen.getByTestId("study-progress").getAttribute("aria-valuenow")).toBe("50");
    expect(screen.getByTestId("study-eta").textContent).toBe("~6.0 s");
    expect(screen.getByTestId("study-queue").textContent).toBe("4 runs ahead in the queue");
    expect(screen.getByTestId("study-rate").textContent).toBe("1 point every 2.0 s");
    const rows = document.querySelectorAll("[data-point-index]");
    expect(rows).toHaveLength(6);
    expect(rows[0]!.getAttribute("data-state")).toBe("SUCCEEDED");
    // Two swept parameters: the heatmap first, its cells one image, a colour bar over the
    // estimates' range, and a hover per cell.
    await waitFor(() => expect(Plotly.react).toHaveBeenCalled());
    const [, heat, heatLayout] = vi.mocked(Plotly.react).mock.calls.at(-1)! as unknown as [unknown, { marker: { cmin: number; cmax: number }; customdata: unknown[][] }[], { images: { source: string }[] }];
    expect(heatLayout.images[0]!.source).toMatch(/^data:image\/bmp;base64,/);
    expect([heat[0]!.marker.cmin, heat[0]!.marker.cmax]).toEqual([1.5, 3.25]);
    // Volatility across, option type up: the call row (1.5, 2.5, none yet), then the put row.
    expect(heat[1]!.customdata.map((c) => [c[0], c[3]])).toEqual([
      [0, 1.5],
      [2, 2.5],
      [4, null],
      [1, 3.25],
      [3, null],
      [5, null],
    ]);
    // The line view: estimate against the chosen parameter, a line per option type.
    fireEvent.click(screen.getByTestId("chart-view-line"));
    await waitFor(() => {
      const traces = vi.mocked(Plotly.react).mock.calls.at(-1)![1] as { name: string; x: number[]; y: number[] }[];
      expect(traces.map((t) => [t.name, t.x, t.y])).toEqual([
        ["option_type = call", [0.1, 0.2], [1.5, 2.5]],
        ["option_type = put", [0.1], [3.25]],
      ]);
    });

    // The study ends: every point's final state, one stream all along.
    await act(async () => {
      fake.studyStreams[0]!.push(studyEvent(study({ state: StudyState.SUCCEEDED, counts: { succeeded: 6 } }), [3, 4, 5].map((i) => donePoint(i, i, 0.1, 9n))));
      fake.studyStreams[0]!.end();
      await new Promise((r) => setTimeout(r, 1050));
    });
    await waitFor(() => expect(screen.getByTestId("study-page").getAttribute("data-state")).toBe("SUCCEEDED"));
    expect([...document.querySelectorAll("[data-point-index]")].every((r) => r.getAttribute("data-state") === "SUCCEEDED")).toBe(true);
    expect(screen.queryByTestId("cancel-study")).toBeNull();
    expect(fake.fns.watchStudy).toHaveBeenCalledTimes(1);
    expect(fake.fns.watchJob).not.toHaveBeenCalled();
  });

  it("draws only the rows in view of a 10,000-point study, and sorts all of them", async () => {
    const fake = fakeClient();
    const points = Array.from({ length: 10_000 }, (_, i) => {
      const p = donePoint(i, (i * 7919) % 10_000, 0.1);
      p.parameters = { volatility: 0.1 + (i % 100) / 100, spot: 50 + Math.floor(i / 100) };
      return p;
    });
    await openStudy(fake, points, study({ points: 10_000, swept: ["spot", "volatility"], state: StudyState.SUCCEEDED }));
    const shown = () => [...document.querySelectorAll("[data-point-index]")].map((r) => Number(r.getAttribute("data-point-index")));
    const inView = Math.ceil(VIEW_HEIGHT / ROW_HEIGHT);
    expect(shown().length).toBeLessThan(inView + 20);
    expect(shown()[0]).toBe(0);
    expect(screen.getByTestId("points-table").getAttribute("aria-rowcount")).toBe("10001");

    fireEvent.click(screen.getByTestId("sort-estimate"));
    fireEvent.click(screen.getByTestId("sort-estimate"));
    // Descending: the largest estimate (9999) first.
    expect(within(document.querySelector("[data-point-index]") as HTMLElement).getByTestId("point-estimate").textContent).toBe("9,999");

    const scroller = screen.getByTestId("points-scroll");
    scroller.scrollTop = 5000 * ROW_HEIGHT;
    fireEvent.scroll(scroller);
    const estimates = [...document.querySelectorAll('[data-testid="point-estimate"]')].map((e) => Number(e.textContent!.replace(/,/g, "")));
    expect(estimates.length).toBeLessThan(inView + 20);
    expect(estimates[0]).toBeLessThan(5010);
    expect(estimates[0]).toBeGreaterThan(4985);
  });

  it("opens a point's run page, which names the point and links back", async () => {
    const fake = fakeClient({ getJob: async () => job() });
    await openStudy(fake, sixPoints());
    fireEvent.click(document.querySelector('[data-point-index="2"] td:nth-child(4)')!);
    await waitFor(() => expect(window.location.pathname).toBe("/runs/job-p2"));
    await act(flush);
    // Off the Study page its stream is closed.
    expect((fake.fns.watchStudy!.mock.calls[0]![1] as { signal: AbortSignal }).signal.aborted).toBe(true);
    await act(async () => {
      fake.streams[0]!.push(event(3n, EventKind.SNAPSHOT, job({ jobId: "job-p2", seq: 3n, studyId: "study-1", studyPoint: 2 })));
      await flush();
    });
    await waitFor(() => expect(screen.getByTestId("study-point").textContent).toBe("Point 2 of study Smile"));
    fireEvent.click(screen.getByTestId("study-point-link"));
    await waitFor(() => expect(window.location.pathname).toBe("/studies/study-1"));
    // Back on it, one stream again; the points seen before show at once.
    expect(fake.fns.watchStudy).toHaveBeenCalledTimes(2);
    expect(document.querySelectorAll("[data-point-index]")).toHaveLength(6);
  });

  it("compares two finished points: the difference, its paired error, the independent one and their ratio", async () => {
    const fake = fakeClient({
      comparePoints: async () =>
        create(ComparePointsResponseSchema, { difference: 1.0, stderr: 0.01, stderrIndependent: 0.1414, correlation: 0.995, blocks: 10n, confidence: 0.95, halfWidth: 0.0196 }),
    });
    await openStudy(fake, sixPoints());
    const check = (i: number) => within(document.querySelector(`[data-point-index="${i}"]`) as HTMLElement).getByRole("checkbox");
    expect((check(3) as HTMLInputElement).disabled).toBe(true);
    fireEvent.click(check(2));
    fireEvent.click(check(0));
    expect((check(1) as HTMLInputElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId("compare-points"));
    expect((await screen.findByTestId("compare-difference")).textContent).toBe("1 ± 0.0196");
    expect(fake.fns.comparePoints).toHaveBeenCalledWith({ studyId: "study-1", a: 0, b: 2 });
    expect(screen.getByTestId("compare-stderr").textContent).toBe("0.01");
    expect(screen.getByTestId("compare-stderr-independent").textContent).toBe("0.1414");
    expect(screen.getByTestId("compare-ratio").textContent).toBe("ratio 14.1 (independent ÷ paired)");
  });

  it("says so while its stream is down, keeping the points it had", async () => {
    const fake = fakeClient();
    await openStudy(fake, sixPoints());
    expect(screen.queryByTestId("reconnecting")).toBeNull();
    await act(async () => {
      fake.studyStreams[0]!.fail(new ConnectError("network error", Code.Unavailable));
      await flush();
    });
    expect(screen.getByTestId("reconnecting").textContent).toMatch(/Reconnecting/);
    expect(document.querySelectorAll("[data-point-index]")).toHaveLength(6);
  });

  it("cancels the study after a confirmation", async () => {
    const fake = fakeClient();
    vi.spyOn(window, "confirm").mockReturnValue(true);
    await openStudy(fake, sixPoints());
    fireEvent.click(screen.getByTestId("cancel-study"));
    await waitFor(() => expect(fake.fns.cancelStudy).toHaveBeenCalledWith({ studyId: "study-1" }));
  });

  it("says when a study does not exist", async () => {
    const fake = fakeClient({
      watchStudy: () => {
        throw new ConnectError("study nope not found", Code.NotFound);
      },
    });
    renderAt("/studies/nope", fake);
    expect(await screen.findByText("Study not found")).toBeTruthy();
    expect(fake.fns.watchStudy).toHaveBeenCalledTimes(1);
  });
});

describe("Shared study view", () => {
  it("is read-only, and its points, links and CSV carry the token", async () => {
    const fake = fakeClient();
    await openStudy(fake, sixPoints(), study(), "/studies/study-1?share=simlab_share_tok");
    expect(screen.getByTestId("shared-badge")).toBeTruthy();
    for (const id of ["share", "cancel-study"]) expect(screen.queryByTestId(id)).toBeNull();
    expect(screen.queryByRole("navigation", { name: "Main" })).toBeNull();
    expect(screen.getByTestId("download-csv").getAttribute("href")).toBe("/studies/study-1/study.csv?share=simlab_share_tok");
    expect(screen.getByLabelText("Simlab: the shared study").getAttribute("href")).toBe("/studies/study-1?share=simlab_share_tok");
    const link = document.querySelector('[data-point-index="1"] [data-testid="point-link"]')!;
    expect(link.getAttribute("href")).toBe("/runs/job-p1?share=simlab_share_tok");
    fireEvent.click(link);
    await waitFor(() => expect(window.location.search).toBe("?share=simlab_share_tok"));
    await act(flush);
    await act(async () => {
      fake.streams[0]!.push(event(3n, EventKind.SNAPSHOT, job({ jobId: "job-p1", seq: 3n, studyId: "study-1", studyPoint: 1 })));
      await flush();
    });
    expect(await screen.findByTestId("shared-badge")).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId("study-point-link").getAttribute("href")).toBe("/studies/study-1?share=simlab_share_tok"));
  });

  it("says the link is no longer valid when it was revoked", async () => {
    const fake = fakeClient({
      watchStudy: () => {
        throw new ConnectError("the share link was revoked", Code.Unauthenticated);
      },
    });
    sessionStorage.setItem("simlab.share", JSON.stringify({ kind: "study", id: "study-1", token: "simlab_share_old" }));
    renderAt("/studies/study-1", fake);
    expect(await screen.findByText("This link is no longer valid")).toBeTruthy();
    await waitFor(() => expect(sessionStorage.getItem("simlab.share")).toBeNull());
  });
});

describe("Studies list", () => {
  it("lists the user's studies with their model, points, state and progress", async () => {
    const fake = fakeClient({
      listStudies: async () => ({ studies: [study({ counts: { succeeded: 3, queued: 3 } }), study({ studyId: "study-2", title: "", state: StudyState.SUCCEEDED, counts: { succeeded: 6 } })], nextPageToken: "" }),
    });
    renderAt("/studies", fake);
    const table = await screen.findByTestId("studies-table");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.getAttribute("data-study-id"))).toEqual(["study-1", "study-2"]);
    expect(rows[0]!.textContent).toMatch(/Smile.*european_option@v1.*6.*Running.*50%/);
    expect(rows[1]!.textContent).toMatch(/Study study-2.*Succeeded.*100%/);
    fireEvent.click(within(rows[0]!).getByText("Smile"));
    await waitFor(() => expect(window.location.pathname).toBe("/studies/study-1"));
  });

  it("shows an empty state with the way to start one", async () => {
    renderAt("/studies", fakeClient());
    expect(await screen.findByText("No studies yet")).toBeTruthy();
  });
});
