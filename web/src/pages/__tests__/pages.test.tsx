import { beforeEach, describe, expect, it } from "vitest";
import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { Code, ConnectError } from "@connectrpc/connect";
import { EventKind, JobState } from "../../gen/simlab/v1/simulation_pb";
import { resetJobFeeds } from "../../state/job";
import { renderAt } from "../../test/render";
import { invalidArgument } from "../../test/errors";
import { event, fakeClient, flush, job, optionModel, running } from "../../test/fake";

beforeEach(() => resetJobFeeds());

describe("New simulation", () => {
  it("builds the form from the schema, validates, and shows server errors at the field", async () => {
    const fake = fakeClient({
      submitJob: async () => {
        throw invalidArgument("parameters.volatility", "must be <= 5 (got 6)");
      },
    });
    renderAt("/new", fake);
    const spot = await screen.findByLabelText(/Spot price/);
    fireEvent.click(screen.getByRole("button", { name: "Run simulation" }));
    expect((await screen.findByTestId("error-parameters.spot")).textContent).toBe("is required");
    fireEvent.change(spot, { target: { value: "100" } });
    await waitFor(() => expect(screen.queryByTestId("error-parameters.spot")).toBeNull());
    fireEvent.click(screen.getByRole("button", { name: "Run simulation" }));
    expect((await screen.findByTestId("error-parameters.volatility")).textContent).toBe("must be <= 5 (got 6)");
    expect(window.location.pathname).toBe("/new");
  });

  it("goes to the run page after a submit", async () => {
    const fake = fakeClient();
    renderAt("/new", fake);
    fireEvent.change(await screen.findByLabelText(/Spot price/), { target: { value: "100" } });
    fireEvent.click(screen.getByRole("button", { name: "Run simulation" }));
    await waitFor(() => expect(window.location.pathname).toBe("/runs/job-new"));
  });

  it("prefills Run again from the previous run", async () => {
    const fake = fakeClient({ getJob: async () => job({ jobId: "old", parameters: { spot: 77, volatility: 0.4 }, seed: 5n, shards: 2 }) });
    renderAt("/new?from=old", fake);
    expect(((await screen.findByLabelText(/Spot price/)) as HTMLInputElement).value).toBe("77");
    expect((screen.getByLabelText(/Volatility/) as HTMLInputElement).value).toBe("0.4");
    expect((screen.getByLabelText("Shards") as HTMLInputElement).value).toBe("2");
    expect(screen.getByText(/Prefilled from run/)).toBeTruthy();
  });
});

describe("Run page", () => {
  it("streams progress and shows the reconnecting state after a drop", async () => {
    const fake = fakeClient();
    renderAt("/runs/job-1", fake);
    await act(flush);
    await act(async () => {
      fake.streams[0]!.push(event(3n, EventKind.SNAPSHOT, running(3n, 500000, 10.4, 0.02)));
      await flush();
    });
    expect(screen.getByTestId("progress").getAttribute("aria-valuenow")).toBe("50");
    expect(screen.getByTestId("estimate").textContent).toBe("10.4");
    expect(screen.getByText("Cancel run")).toBeTruthy();
    await act(async () => {
      fake.streams[0]!.fail(new ConnectError("network", Code.Unavailable));
      await flush();
    });
    expect(screen.getByTestId("reconnecting").textContent).toMatch(/Reconnecting/);
  });

  it("shows the failure message and traceback", async () => {
    const fake = fakeClient();
    renderAt("/runs/job-1", fake);
    await act(flush);
    await act(async () => {
      fake.streams[0]!.push(
        event(
          9n,
          EventKind.SNAPSHOT,
          job({ state: JobState.FAILED, seq: 9n, error: { message: "model raised ValueError", traceback: "Traceback (most recent call last):\n  boom", source: "model" } }),
        ),
      );
      fake.streams[0]!.end();
      await flush();
    });
    expect(screen.getByTestId("failure").textContent).toMatch(/model raised ValueError/);
    expect(screen.getByTestId("traceback").textContent).toMatch(/boom/);
    expect(screen.queryByText("Cancel run")).toBeNull();
  });

  it("says when a run does not exist", async () => {
    const fake = fakeClient({
      watchJob: () => {
        throw new ConnectError("job nope not found", Code.NotFound);
      },
    });
    renderAt("/runs/nope", fake);
    expect(await screen.findByText("Run not found")).toBeTruthy();
  });
});

describe("Runs list", () => {
  it("shows an empty state", async () => {
    renderAt("/", fakeClient());
    expect(await screen.findByText("No runs yet")).toBeTruthy();
  });

  it("lists runs, filters by status and updates active badges live", async () => {
    const jobs = [job({ jobId: "aaaa1111", state: JobState.RUNNING, seq: 2n }), job({ jobId: "bbbb2222", state: JobState.SUCCEEDED, seq: 5n })];
    // Filters by the start of the id as the server does, and refuses what cannot start one.
    const fake = fakeClient({
      listJobs: async (req: never) => {
        const prefix = (req as { jobIdPrefix: string }).jobIdPrefix.toLowerCase();
        if (!/^[0-9a-f]*$/.test(prefix)) {
          throw invalidArgument("job_id_prefix", `must be up to 16 hex digits of a job id, got '${prefix}'`);
        }
        return { jobs: jobs.filter((j) => j.jobId.startsWith(prefix)), nextPageToken: "" };
      },
    });
    renderAt("/", fake);
    await screen.findByTestId("runs-table");
    expect(document.querySelectorAll("[data-job-id]").length).toBe(2);
    // One stream, for the running job only.
    await act(flush);
    expect(fake.watchCalls.map((c) => c.jobId)).toEqual(["aaaa1111"]);
    await act(async () => {
      fake.streams[0]!.push(event(6n, EventKind.STATE, job({ jobId: "aaaa1111", state: JobState.SUCCEEDED, seq: 6n })));
      await flush();
    });
    const row = document.querySelector('[data-job-id="aaaa1111"]')!;
    expect(row.querySelector("[data-state]")!.getAttribute("data-state")).toBe("SUCCEEDED");
    fireEvent.click(screen.getByRole("button", { name: "Failed" }));
    await waitFor(() => expect(fake.fns.listJobs).toHaveBeenLastCalledWith(expect.objectContaining({ states: [JobState.FAILED] })));
    fireEvent.change(screen.getByLabelText("Search by id"), { target: { value: "BBBB" } });
    await waitFor(() => expect(document.querySelectorAll("[data-job-id]").length).toBe(1));
    expect(fake.fns.listJobs).toHaveBeenLastCalledWith(expect.objectContaining({ jobIdPrefix: "BBBB", pageToken: "" }));
    // Not the start of any id: the error sits at the search field, not in place of the list.
    fireEvent.change(screen.getByLabelText("Search by id"), { target: { value: "zz" } });
    const hint = await screen.findByTestId("error-search");
    expect(hint.textContent).toContain("hex digits");
    expect(screen.getByLabelText("Search by id").getAttribute("aria-invalid")).toBe("true");
    expect(screen.queryByText("Could not load runs")).toBeNull();
  });
});

describe("keyboard", () => {
  it("arrow keys move through the models", async () => {
    const fake = fakeClient({
      listModels: async () => ({ models: [optionModel(), { ...optionModel(), name: "other", title: "Other model" }] }),
    });
    renderAt("/new", fake);
    const first = await screen.findByRole("radio", { name: /European option/ });
    await waitFor(() => expect(first.getAttribute("aria-checked")).toBe("true"));
    first.focus();
    fireEvent.keyDown(first, { key: "ArrowDown" });
    const second = screen.getByRole("radio", { name: /Other model/ });
    await waitFor(() => expect(second.getAttribute("aria-checked")).toBe("true"));
    expect(document.activeElement).toBe(second);
  });
});
