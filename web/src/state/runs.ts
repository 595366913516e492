// The runs list: filters (model, states, the start of a job id), paging by page tokens.
import { atom } from "jotai";
import { unwrap } from "jotai/utils";
import type { Job, JobState } from "../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../api/errors";
import { clientAtom } from "./client";

export interface RunsFilters {
  model: string;
  states: JobState[];
  search: string;
}

export const PAGE_SIZE = 15;

const filtersPrimAtom = atom<RunsFilters>({ model: "", states: [], search: "" });
/** Tokens of the pages seen so far; the last one is the page shown. */
const pageTokensPrimAtom = atom<string[]>([""]);
const refreshPrimAtom = atom(0);

export const runsFiltersAtom = atom(
  (get) => get(filtersPrimAtom),
  (get, set, patch: Partial<RunsFilters>) => {
    const next = { ...get(filtersPrimAtom), ...patch };
    set(filtersPrimAtom, next);
    // Every filter changes which jobs the page tokens walk through: back to the first page.
    set(pageTokensPrimAtom, [""]);
  },
);

export interface RunsPage {
  jobs: Job[];
  nextPageToken: string;
  pageIndex: number;
  error?: ApiError;
  loadedAt: number;
}

const runsPageAsyncAtom = atom(async (get): Promise<RunsPage> => {
  get(refreshPrimAtom);
  const client = get(clientAtom);
  const { model, states, search } = get(filtersPrimAtom);
  const tokens = get(pageTokensPrimAtom);
  const pageToken = tokens[tokens.length - 1] ?? "";
  try {
    // The server searches every page; it refuses what cannot start an id, naming the field.
    const res = await client.listJobs({ model, states, pageSize: PAGE_SIZE, pageToken, jobIdPrefix: search.trim() });
    return {
      jobs: res.jobs,
      nextPageToken: res.nextPageToken,
      pageIndex: tokens.length - 1,
      loadedAt: Date.now(),
    };
  } catch (err) {
    return { jobs: [], nextPageToken: "", pageIndex: tokens.length - 1, error: toApiError(err), loadedAt: Date.now() };
  }
});

/** The page shown; keeps the previous page while the next one loads (null on first load). */
export const runsPageAtom = unwrap(runsPageAsyncAtom, (prev) => prev ?? null);

/** Whether a newer page is on its way (filters, paging or refresh changed). */
const runsPageFreshAtom = unwrap(runsPageAsyncAtom, () => null);
export const runsLoadingAtom = atom((get) => get(runsPageFreshAtom) === null);

export const runsPagingAtom = atom(null, (get, set, dir: "next" | "prev" | "first") => {
  const tokens = get(pageTokensPrimAtom);
  if (dir === "first") set(pageTokensPrimAtom, [""]);
  else if (dir === "prev") set(pageTokensPrimAtom, tokens.length > 1 ? tokens.slice(0, -1) : tokens);
  else {
    const page = get(runsPageAtom);
    if (page?.nextPageToken) set(pageTokensPrimAtom, [...tokens, page.nextPageToken]);
  }
});

export const refreshRunsAtom = atom(null, (_get, set) => set(refreshPrimAtom, (n) => n + 1));
