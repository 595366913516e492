import { describe, expect, it, beforeEach } from "vitest";
import { createStore } from "jotai";
import { EventKind } from "../gen/simlab/v1/simulation_pb";
import { clientAtom } from "./client";
import { jobFeedAtom, resetJobFeeds } from "./job";
import { event, fakeClient, flush, running } from "../test/fake";

beforeEach(() => resetJobFeeds());

describe("jobFeedAtom", () => {
  it("opens WatchJob on mount and closes it on unmount", async () => {
    const fake = fakeClient();
    const store = createStore();
    store.set(clientAtom, fake.client);
    const feedAtom = jobFeedAtom("job-1");
    expect(jobFeedAtom("job-1")).toBe(feedAtom);
    expect(fake.fns.watchJob).not.toHaveBeenCalled();
    const unsub = store.sub(feedAtom, () => {});
    await flush();
    expect(fake.watchCalls).toEqual([{ jobId: "job-1", afterSeq: 0n }]);
    fake.streams[0]!.push(event(2n, EventKind.SNAPSHOT, running(2n, 100000, 3.1, 0.01)));
    await flush();
    expect(store.get(feedAtom).job?.progress?.estimate).toBe(3.1);
    expect(store.get(feedAtom).connection).toBe("live");
    const signal = fake.fns.watchJob!.mock.calls[0]![1].signal as AbortSignal;
    unsub();
    expect(signal.aborted).toBe(true);
  });
});
