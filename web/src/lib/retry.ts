// The one retry policy of the UI's live streams (WatchJob, TailLogs): try, and after a failure
// that another try may fix wait a growing delay and try again, until done or aborted.

/** The delay before retry n (1-based), in ms. */
export type Backoff = (attempt: number) => number;

/** Waits `ms`, or less when `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** 0.4 s, doubling with each failure in a row, at most 10 s. */
export const defaultBackoff: Backoff = (attempt) => Math.min(10_000, 400 * 2 ** (attempt - 1));

export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

export interface RetryOptions {
  /** Ends the retrying, and the wait between tries. */
  signal: AbortSignal;
  /** After a failed try: "stop", or "retry" after the backoff. `failures` counts this one and
   * those before it since the last `healthy()`. Not called once `signal` has aborted. */
  onError: (err: unknown, failures: number) => "stop" | "retry";
  backoff?: Backoff;
  sleep?: Sleep;
}

/**
 * Runs `tryOnce` until it returns, `onError` says stop, or `signal` aborts. `tryOnce` calls
 * `healthy()` once its try works (e.g. a stream delivered), so the next failure starts the
 * backoff from the shortest delay again.
 */
export async function retry(tryOnce: (healthy: () => void) => Promise<void>, opts: RetryOptions): Promise<void> {
  const backoff = opts.backoff ?? defaultBackoff;
  const sleep = opts.sleep ?? abortableSleep;
  let failures = 0;
  const healthy = () => {
    failures = 0;
  };
  while (!opts.signal.aborted) {
    try {
      await tryOnce(healthy);
      return;
    } catch (err) {
      if (opts.signal.aborted) return;
      failures += 1;
      if (opts.onError(err, failures) === "stop") return;
      await sleep(backoff(failures), opts.signal);
    }
  }
}
