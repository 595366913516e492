import { describe, expect, it } from "vitest";
import { createStore } from "jotai";
import { JobState } from "../gen/simlab/v1/simulation_pb";
import { clientAtom } from "./client";
import { runsFiltersAtom, runsPageAtom, runsPagingAtom } from "./runs";
import { fakeClient, flush, job } from "../test/fake";

describe("runs list atoms", () => {
  it("page forward and back with page tokens, and reset paging on a new filter", async () => {
    const fake = fakeClient({
      listJobs: async (req: never) => {
        const { pageToken } = req as { pageToken: string };
        return pageToken === ""
          ? { jobs: [job({ jobId: "new" })], nextPageToken: "t1" }
          : { jobs: [job({ jobId: "old" })], nextPageToken: "" };
      },
    });
    const store = createStore();
    store.set(clientAtom, fake.client);
    const unsub = store.sub(runsPageAtom, () => {});
    await flush();
    expect(store.get(runsPageAtom)?.jobs.map((j) => j.jobId)).toEqual(["new"]);
    store.set(runsPagingAtom, "next");
    await flush();
    expect(store.get(runsPageAtom)).toMatchObject({ pageIndex: 1, nextPageToken: "" });
    expect(store.get(runsPageAtom)?.jobs.map((j) => j.jobId)).toEqual(["old"]);
    store.set(runsFiltersAtom, { states: [JobState.RUNNING] });
    await flush();
    expect(store.get(runsPageAtom)?.pageIndex).toBe(0);
    expect(fake.fns.listJobs).toHaveBeenLastCalledWith(expect.objectContaining({ states: [JobState.RUNNING], pageToken: "" }));
    unsub();
  });

  it("searches by the start of an id on the server, from the first page", async () => {
    const fake = fakeClient({
      listJobs: async (req: never) => {
        const { pageToken, jobIdPrefix } = req as { pageToken: string; jobIdPrefix: string };
        if (jobIdPrefix) return { jobs: [job({ jobId: "3f9a000000000001" })], nextPageToken: "" };
        return { jobs: [job({ jobId: pageToken === "" ? "new" : "old" })], nextPageToken: pageToken === "" ? "t1" : "" };
      },
    });
    const store = createStore();
    store.set(clientAtom, fake.client);
    const unsub = store.sub(runsPageAtom, () => {});
    await flush();
    store.set(runsPagingAtom, "next");
    await flush();
    expect(store.get(runsPageAtom)?.pageIndex).toBe(1);
    store.set(runsFiltersAtom, { search: " 3F9A " });
    await flush();
    expect(fake.fns.listJobs).toHaveBeenLastCalledWith(expect.objectContaining({ jobIdPrefix: "3F9A", pageToken: "" }));
    expect(store.get(runsPageAtom)).toMatchObject({ pageIndex: 0 });
    expect(store.get(runsPageAtom)?.jobs.map((j) => j.jobId)).toEqual(["3f9a000000000001"]);
    unsub();
  });
});
