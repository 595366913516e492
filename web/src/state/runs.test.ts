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
});
