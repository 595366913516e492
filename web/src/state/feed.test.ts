import { describe, expect, it } from "vitest";
import { createStore } from "jotai";
import { clientAtom } from "./client";
import { liveFeedFamily } from "./feed";
import { fakeClient, flush } from "../test/fake";

interface Count {
  n: number;
  open: boolean;
  done: boolean;
}

/** A feed that counts what its stream sends, and is complete once `done`. */
function counters() {
  const follows: { key: string; signal: AbortSignal; send: (k: number) => void }[] = [];
  const feeds = liveFeedFamily<Count>((key) => ({
    initial: { n: 0, open: false, done: false },
    starting: (c) => (c.done ? null : { ...c, open: true }),
    follow: async (_client, update, signal) => {
      follows.push({ key, signal, send: (k) => update((c) => ({ ...c, n: c.n + k, done: c.n + k >= 10 })) });
    },
  }));
  return { feeds, follows };
}

describe("liveFeedFamily", () => {
  it("follows while read, stops when no longer read, keeps what it got, and is one atom per key", async () => {
    const { feeds, follows } = counters();
    const store = createStore();
    store.set(clientAtom, fakeClient().client);
    const a = feeds("job-1");
    expect(feeds("job-1")).toBe(a);
    expect(feeds("job-2")).not.toBe(a);
    expect(follows).toHaveLength(0);

    let unsub = store.sub(a, () => {});
    await flush();
    expect(follows.map((f) => f.key)).toEqual(["job-1"]);
    expect(store.get(a)).toEqual({ n: 0, open: true, done: false });
    follows[0]!.send(4);
    expect(store.get(a).n).toBe(4);
    unsub();
    expect(follows[0]!.signal.aborted).toBe(true);

    // Read again: a new stream, starting from what the first one got.
    unsub = store.sub(a, () => {});
    expect(follows).toHaveLength(2);
    follows[1]!.send(6);
    expect(store.get(a)).toEqual({ n: 10, open: true, done: true });
    unsub();

    // Complete: not followed again.
    unsub = store.sub(a, () => {});
    expect(follows).toHaveLength(2);
    unsub();
  });

  it("starts over after clear()", () => {
    const { feeds } = counters();
    const a = feeds("job-1");
    feeds.clear();
    expect(feeds("job-1")).not.toBe(a);
  });
});
