import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobState } from "../gen/simlab/v1/simulation_pb";
import { appendText, emptyLogs, flushPartial, followLogs, LogCursor, type Logs } from "./logs";
import { fakeClient, flush, job, logChunk } from "../test/fake";

const enc = (s: string) => new TextEncoder().encode(s);

describe("appendText", () => {
  it("splits lines, keeps an unfinished one per shard and trims the oldest", () => {
    let l = appendText(emptyLogs, 0, "a\r\nb");
    l = appendText(l, 1, "x\n");
    l = appendText(l, 0, "c\nd\n");
    expect(l.lines.map((x) => [x.shard, x.text])).toEqual([
      [0, "a"],
      [1, "x"],
      [0, "bc"],
      [0, "d"],
    ]);
    expect(l.partial).toEqual({});
    l = appendText(l, 0, "e\nf\ng", 3);
    expect(l.lines.map((x) => x.text)).toEqual(["d", "e", "f"]);
    expect(l.dropped).toBe(3);
    expect(l.lines.map((x) => x.n)).toEqual([3, 4, 5]);
    expect(flushPartial(l, 3).lines.map((x) => x.text)).toEqual(["e", "f", "g"]);
  });
});

describe("LogCursor", () => {
  it("skips what a reopened stream replays and decodes UTF-8 split between chunks", () => {
    const c = new LogCursor();
    const bytes = enc("≈ 3.14\n");
    expect(c.accept(0, bytes.subarray(0, 2))).toBe("");
    expect(c.accept(0, bytes.subarray(2))).toBe("≈ 3.14\n");
    expect(c.accept(1, enc("one\n"))).toBe("one\n");
    c.restart();
    expect(c.accept(1, enc("one\n"))).toBe("");
    expect(c.accept(0, enc("≈ 3.14\nnext\n"))).toBe("next\n");
    expect(c.accept(1, enc("two\n"))).toBe("two\n");
  });
});

describe("followLogs", () => {
  it("reconnects after a drop without repeating lines, and ends with the job", async () => {
    const fake = fakeClient({ getJob: async () => job({ state: JobState.SUCCEEDED }) });
    let logs: Logs = emptyLogs;
    const ctl = new AbortController();
    const done = followLogs(fake.client, "job-1", new LogCursor(), (fn) => (logs = fn(logs)), ctl.signal, {
      backoff: () => 0,
      sleep: async () => undefined,
    });
    await flush();
    fake.logStreams[0]!.push(logChunk(0, "block 1\nblo"));
    await flush();
    expect(logs.connection).toBe("live");
    fake.logStreams[0]!.fail(new ConnectError("network", Code.Unavailable));
    await flush();
    await flush();
    expect(fake.logStreams.length).toBe(2);
    // The server starts over: what was shown is skipped.
    fake.logStreams[1]!.push(logChunk(0, "block 1\nblock 2\n"));
    fake.logStreams[1]!.push(logChunk(0, "last"));
    fake.logStreams[1]!.end();
    await done;
    expect(logs.lines.map((l) => l.text)).toEqual(["block 1", "block 2", "last"]);
    expect(logs.connection).toBe("ended");
    expect(fake.fns.tailLogs).toHaveBeenCalledWith({ jobId: "job-1", follow: true }, expect.anything());
  });

  it("follows again when the stream closes while the job still runs", async () => {
    const fake = fakeClient({ getJob: async () => job({ state: JobState.RUNNING }) });
    let logs: Logs = emptyLogs;
    const ctl = new AbortController();
    const done = followLogs(fake.client, "job-1", new LogCursor(), (fn) => (logs = fn(logs)), ctl.signal, { backoff: () => 0, sleep: async () => undefined });
    await flush();
    fake.logStreams[0]!.end();
    await flush();
    await flush();
    expect(fake.logStreams.length).toBe(2);
    expect(logs.connection).toBe("reconnecting");
    ctl.abort();
    await done;
  });

  it("stops on a revoked link instead of retrying", async () => {
    const fake = fakeClient({
      tailLogs: () => {
        throw new ConnectError("share link revoked", Code.Unauthenticated);
      },
    });
    let logs: Logs = emptyLogs;
    await followLogs(fake.client, "job-1", new LogCursor(), (fn) => (logs = fn(logs)), new AbortController().signal, { sleep: async () => undefined });
    expect(logs.connection).toBe("ended");
    expect(logs.error?.code).toBe(Code.Unauthenticated);
    expect(fake.fns.tailLogs).toHaveBeenCalledTimes(1);
  });
});
