// Live feeds keyed by job id (a job's events, its logs): one atom per key, which opens its
// stream when a component first reads it (onMount) and closes it when the last one unmounts.
// The atom and what it received are kept, so a feed read again resumes instead of starting over.
import { atom, type Atom } from "jotai";
import type { SimulationClient } from "../api/client";
import { family } from "../lib/family";
import { clientAtom } from "./client";

/** How the feed of one key is followed. */
export interface FeedSource<T> {
  /** The value before anything was received. */
  initial: T;
  /** The value to show while (re)connecting, given the current one; null when there is
   * nothing left to follow (the feed is complete). */
  starting: (current: T) => T | null;
  /** Follows the stream until it ends or `signal` aborts, passing each change to `update`. */
  follow: (client: SimulationClient, update: (fn: (current: T) => T) => void, signal: AbortSignal) => Promise<void>;
}

type FeedAction = { type: "start" } | { type: "stop" };

function liveFeedAtom<T>(source: FeedSource<T>): Atom<T> {
  const valueAtom = atom<T>(source.initial);
  let controller: AbortController | null = null;
  const controlAtom = atom(
    (get) => get(valueAtom),
    (get, set, action: FeedAction) => {
      controller?.abort();
      controller = null;
      if (action.type === "stop") return;
      const shown = source.starting(get(valueAtom));
      if (shown === null) return;
      const c = new AbortController();
      controller = c;
      set(valueAtom, shown);
      void source.follow(get(clientAtom), (fn) => set(valueAtom, fn), c.signal);
    },
  );
  controlAtom.onMount = (dispatch) => {
    dispatch({ type: "start" });
    return () => dispatch({ type: "stop" });
  };
  return controlAtom;
}

/** A family of live feeds: `feeds(key)` is the same atom for the same key until `clear()`. */
export function liveFeedFamily<T>(sourceOf: (key: string) => FeedSource<T>): ((key: string) => Atom<T>) & { clear(): void } {
  return family((key: string) => liveFeedAtom(sourceOf(key)));
}
