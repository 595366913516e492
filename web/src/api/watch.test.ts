import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { EventKind, JobState, ProgressPointSchema } from "../gen/simlab/v1/simulation_pb";
import { emptyFeed, followJob, mergePoints, type Feed } from "./watch";
import { event, fakeClient, flush, job, running } from "../test/fake";

function harness(opts: Parameters<typeof fakeClient>[0] = {}) {
  const fake = fakeClient(opts);
  let feed: Feed = emptyFeed;
  const ctl = new AbortController();
  const sleeps: number[] = [];
  const done = followJob(fake.client, "job-1", (fn) => (feed = fn(feed)), ctl.signal, {
    backoff: (n) => n * 10,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { fake, ctl, done, sleeps, feed: () => feed };
}

describe("followJob", () => {
  it("streams the snapshot, then progress points, and ends with the job", async () => {
    const h = harness();
    await flush();
    const s = h.fake.streams[0]!;
    s.push(event(3n, EventKind.SNAPSHOT, running(3n, 100000, 1.0, 0.5)));
    s.push(event(4n, EventKind.PROGRESS, running(4n, 200000, 1.1, 0.3)));
    s.push(event(4n, EventKind.PROGRESS, running(4n, 200000, 1.1, 0.3))); // duplicate
    await flush();
    expect(h.feed().connection).toBe("live");
    expect(h.feed().points.map((p) => p.samples)).toEqual([100000, 200000]);
    expect(h.fake.fns.getProgressHistory).toHaveBeenCalledTimes(1);
    s.push(event(5n, EventKind.STATE, job({ state: JobState.SUCCEEDED, seq: 5n })));
    s.end();
    await h.done;
    expect(h.feed().job?.state).toBe(JobState.SUCCEEDED);
    expect(h.feed().connection).toBe("ended");
    expect(h.fake.watchCalls).toHaveLength(1);
  });

  it("shows reconnecting after a drop and resumes after the last seq", async () => {
    const h = harness();
    await flush();
    h.fake.streams[0]!.push(event(7n, EventKind.SNAPSHOT, running(7n, 100000, 1, 0.5)));
    await flush();
    h.fake.streams[0]!.fail(new ConnectError("network error", Code.Unavailable));
    await flush();
    await flush();
    expect(h.sleeps).toEqual([10]);
    expect(h.fake.watchCalls.map((c) => c.afterSeq)).toEqual([0n, 7n]);
    // While the new stream has sent nothing yet the page still says "reconnecting".
    expect(h.feed().connection).toBe("reconnecting");
    expect(h.feed().attempts).toBe(1);
    h.fake.streams[1]!.push(event(9n, EventKind.SNAPSHOT, running(9n, 300000, 1.2, 0.2)));
    await flush();
    expect(h.feed().connection).toBe("live");
    expect(h.feed().error).toBeUndefined();
    expect(h.feed().points.map((p) => p.seq)).toEqual([7n, 9n]);
    h.ctl.abort();
    await h.done;
  });

  it("resumes when the server closes the stream of a running job", async () => {
    const h = harness();
    await flush();
    h.fake.streams[0]!.push(event(2n, EventKind.SNAPSHOT, running(2n, 100000, 1, 0.5)));
    h.fake.streams[0]!.end();
    await flush();
    await flush();
    expect(h.fake.watchCalls.map((c) => c.afterSeq)).toEqual([0n, 2n]);
    h.ctl.abort();
    await h.done;
  });

  it("stops on NOT_FOUND", async () => {
    const h = harness({
      watchJob: () => {
        throw new ConnectError("job nope not found", Code.NotFound);
      },
    });
    await h.done;
    expect(h.feed().connection).toBe("ended");
    expect(h.feed().error?.code).toBe(Code.NotFound);
  });

  it("merges history points with live ones by seq", async () => {
    const h = harness({
      getProgressHistory: async () => ({
        points: [1n, 2n].map((seq) => create(ProgressPointSchema, { seq, samplesDone: seq * 100000n, estimate: 1, stderr: 0.1 })),
      }),
    });
    await flush();
    h.fake.streams[0]!.push(event(3n, EventKind.SNAPSHOT, running(3n, 300000, 1, 0.1)));
    await flush();
    await flush();
    expect(h.feed().points.map((p) => p.seq)).toEqual([1n, 2n, 3n]);
    h.ctl.abort();
    await h.done;
  });
});

describe("mergePoints", () => {
  it("sorts and de-duplicates", () => {
    const p = (seq: bigint) => ({ seq, samples: Number(seq), estimate: 0 });
    expect(mergePoints([p(3n), p(1n)], [p(2n), p(3n)]).map((x) => x.seq)).toEqual([1n, 2n, 3n]);
  });
});
