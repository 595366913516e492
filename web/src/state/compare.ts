import { atom } from "jotai";
import { unwrap } from "jotai/utils";
import { JobState, type Job } from "../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../api/errors";
import { family } from "../lib/family";
import { clientAtom } from "./client";

const candidatesRefreshPrimAtom = atom(0);

/** Fetch the candidates again (the picker does on every visit). */
export const refreshCompareCandidatesAtom = atom(null, (_get, set) => set(candidatesRefreshPrimAtom, (n) => n + 1));

/** Finished runs to pick from on Compare (null while loading), per model ("" = all). */
export const compareCandidatesAtom = family((model: string) =>
  unwrap(
    atom(async (get): Promise<{ jobs: Job[]; error?: ApiError }> => {
      get(candidatesRefreshPrimAtom);
      try {
        const res = await get(clientAtom).listJobs({ model, states: [JobState.SUCCEEDED], pageSize: 50 });
        return { jobs: res.jobs };
      } catch (err) {
        return { jobs: [], error: toApiError(err) };
      }
    }),
    () => null,
  ),
);
