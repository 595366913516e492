import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobState, StudyState } from "../gen/simlab/v1/simulation_pb";
import { donePoint, fakeClient, study, studyEvent, studyPoint } from "../test/fake";
import { emptyStudyFeed, followStudy, type StudyFeed } from "./studyWatch";

function harness(opts: Parameters<typeof fakeClient>[0] = {}) {
  const fake = fakeClient(opts);
  let feed: StudyFeed = emptyStudyFeed;
  let updates = 0;
  const ctl = new AbortController();
  const sleeps: number[] = [];
  const done = followStudy(
    fake.client,
    "study-1",
    (fn) => {
      updates += 1;
      feed = fn(feed);
    },
    ctl.signal,
    { flushMs: 1000, backoff: (n) => n * 10, sleep: async (ms) => void sleeps.push(ms) },
  );
  return { fake, ctl, done, sleeps, feed: () => feed, updates: () => updates };
}

// Timers and the clock are fake: the test says when a second has passed.
beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] }));
afterEach(() => vi.useRealTimers());
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

describe("followStudy", () => {
  it("hands on the first event at once, then what arrives at most once a second", async () => {
    const h = harness();
    await tick();
    const s = h.fake.studyStreams[0]!;
    // Six snapshot pages in a burst: the first shows at once, the rest together a second later.
    s.push(studyEvent(study(), [studyPoint(0)], true));
    await tick();
    expect(h.feed().points.filter(Boolean)).toHaveLength(1);
    expect(h.feed().connection).toBe("live");
    for (let i = 1; i < 6; i++) s.push(studyEvent(study(), [studyPoint(i)], true));
    await tick(999);
    expect(h.feed().points.filter(Boolean)).toHaveLength(1);
    await tick(1);
    expect(h.feed().points.filter(Boolean)).toHaveLength(6);
    expect(h.updates()).toBe(2);

    // A change event: merged by seq into the point's slot.
    s.push(studyEvent(study({ counts: { queued: 5, succeeded: 1 } }), [donePoint(3, 2.5, 0.1)]));
    await tick(1000);
    expect(h.feed().points[3]?.state).toBe(JobState.SUCCEEDED);
    expect(h.feed().study?.counts?.succeeded).toBe(1);

    // The study ends: the last event is handed on at once and the feed ends.
    s.push(studyEvent(study({ state: StudyState.SUCCEEDED }), [donePoint(0, 1, 0.1)]));
    s.end();
    await h.done;
    expect(h.feed().study?.state).toBe(StudyState.SUCCEEDED);
    expect(h.feed().points[0]?.state).toBe(JobState.SUCCEEDED);
    expect(h.feed().connection).toBe("ended");
    expect(h.fake.fns.watchStudy).toHaveBeenCalledTimes(1);
  });

  it("reconnects after a drop, keeping what it had; the new snapshot's older points change nothing", async () => {
    const h = harness();
    await tick();
    h.fake.studyStreams[0]!.push(studyEvent(study(), [donePoint(0, 1, 0.1, 9n), studyPoint(1)], true));
    await tick();
    h.fake.studyStreams[0]!.fail(new ConnectError("network error", Code.Unavailable));
    await tick();
    expect(h.sleeps).toEqual([10]);
    expect(h.feed().connection).toBe("reconnecting");
    expect(h.feed().points[0]?.state).toBe(JobState.SUCCEEDED);
    await tick();
    // A snapshot from a lagging replica: point 0 at an older seq.
    h.fake.studyStreams[1]!.push(studyEvent(study(), [studyPoint(0, { seq: 3n }), studyPoint(1, { seq: 2n, state: JobState.RUNNING })], true));
    await tick(1000);
    expect(h.feed().connection).toBe("live");
    expect(h.feed().error).toBeUndefined();
    expect(h.feed().points[0]?.seq).toBe(9n);
    expect(h.feed().points[1]?.state).toBe(JobState.RUNNING);
    h.ctl.abort();
    await h.done;
  });

  it("resumes a stream the server closed before the study ended", async () => {
    const h = harness();
    await tick();
    h.fake.studyStreams[0]!.push(studyEvent(study(), [studyPoint(0)], true));
    h.fake.studyStreams[0]!.end();
    await tick();
    await tick();
    expect(h.fake.studyStreams).toHaveLength(2);
    h.ctl.abort();
    await h.done;
  });

  it("ends on an error another try would not fix", async () => {
    const h = harness({
      watchStudy: () => {
        throw new ConnectError("study nope not found", Code.NotFound);
      },
    });
    await h.done;
    expect(h.feed().connection).toBe("ended");
    expect(h.feed().error?.code).toBe(Code.NotFound);
  });
});
