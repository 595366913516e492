import { describe, expect, it } from "vitest";
import { abortableSleep, defaultBackoff, retry } from "./retry";

describe("defaultBackoff", () => {
  it("starts at 0.4 s, doubles, and stays at 10 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(defaultBackoff)).toEqual([400, 800, 1600, 3200, 6400, 10_000, 10_000]);
  });
});

describe("abortableSleep", () => {
  it("ends early when the signal aborts", async () => {
    const ctl = new AbortController();
    const t0 = Date.now();
    const slept = abortableSleep(60_000, ctl.signal);
    ctl.abort();
    await slept;
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe("retry", () => {
  it("waits the backoff of each failure in a row, and starts over after healthy()", async () => {
    const sleeps: number[] = [];
    const seen: number[] = [];
    let tries = 0;
    await retry(
      async (healthy) => {
        tries += 1;
        if (tries === 3) healthy();
        if (tries < 5) throw new Error(`try ${tries}`);
      },
      {
        signal: new AbortController().signal,
        onError: (_err, failures) => {
          seen.push(failures);
          return "retry";
        },
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
    );
    expect(tries).toBe(5);
    expect(seen).toEqual([1, 2, 1, 2]);
    expect(sleeps).toEqual([400, 800, 400, 800]);
  });

  it("stops when onError says so, without waiting", async () => {
    const sleeps: number[] = [];
    let tries = 0;
    await retry(
      async () => {
        tries += 1;
        throw new Error("final");
      },
      { signal: new AbortController().signal, onError: () => "stop", sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(tries).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("ends quietly once aborted, without asking onError", async () => {
    const ctl = new AbortController();
    const errors: unknown[] = [];
    let tries = 0;
    await retry(
      async () => {
        tries += 1;
        ctl.abort();
        throw new Error("aborted");
      },
      { signal: ctl.signal, onError: (e) => (errors.push(e), "retry"), backoff: () => 0 },
    );
    expect(tries).toBe(1);
    expect(errors).toEqual([]);
  });
});
