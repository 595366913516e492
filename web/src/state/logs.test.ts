import { beforeEach, describe, expect, it } from "vitest";
import { createStore } from "jotai";
import { JobState } from "../gen/simlab/v1/simulation_pb";
import { clientAtom } from "./client";
import { logsFeedAtom, resetLogFeeds } from "./logs";
import { fakeClient, flush, job, logChunk } from "../test/fake";

beforeEach(() => resetLogFeeds());

describe("logsFeedAtom", () => {
  it("opens TailLogs on mount, closes it on unmount and resumes without repeating", async () => {
    const fake = fakeClient({ getJob: async () => job({ state: JobState.SUCCEEDED }) });
    const store = createStore();
    store.set(clientAtom, fake.client);
    const a = logsFeedAtom("job-1");
    expect(logsFeedAtom("job-1")).toBe(a);
    expect(fake.fns.tailLogs).not.toHaveBeenCalled();
    let unsub = store.sub(a, () => {});
    await flush();
    fake.logStreams[0]!.push(logChunk(0, "hello\n"));
    await flush();
    expect(store.get(a).lines.map((l) => l.text)).toEqual(["hello"]);
    const signal = fake.fns.tailLogs!.mock.calls[0]![1].signal as AbortSignal;
    unsub();
    expect(signal.aborted).toBe(true);
    // Reopened: the replay is skipped; the log ends with the job.
    unsub = store.sub(a, () => {});
    await flush();
    expect(fake.logStreams.length).toBe(2);
    fake.logStreams[1]!.push(logChunk(0, "hello\nworld\n"));
    fake.logStreams[1]!.end();
    await flush();
    await flush();
    expect(store.get(a).lines.map((l) => l.text)).toEqual(["hello", "world"]);
    expect(store.get(a).connection).toBe("ended");
    unsub();
    // A complete log is not fetched again.
    unsub = store.sub(a, () => {});
    await flush();
    expect(fake.logStreams.length).toBe(2);
    unsub();
  });
});
