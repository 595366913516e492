// Models: the catalogue (the latest version of each model the caller may run), the versions
// of one model, and one version by reference ("name@vN").
import { atom } from "jotai";
import { loadable, unwrap } from "jotai/utils";
import type { Model } from "../gen/simlab/v1/simulation_pb";
import { family } from "../lib/family";
import { clientAtom } from "./client";
import { attempt, type Result } from "./results";

const modelsRefreshAtom = atom(0);

/** The model catalogue (ListModels), loaded once per session and after each push. */
export const modelsAtom = atom(async (get): Promise<Model[]> => {
  get(modelsRefreshAtom);
  const res = await get(clientAtom).listModels({});
  return res.models;
});

export const modelsLoadableAtom = loadable(modelsAtom);

export const reloadModelsAtom = atom(null, (_get, set) => set(modelsRefreshAtom, (n) => n + 1));

/** Every version of a model, newest first (null while loading); reloaded with the catalogue. */
export const modelVersionsAtom = family((name: string) =>
  unwrap(
    atom(async (get): Promise<Result<Model[]>> => {
      get(modelsRefreshAtom);
      return attempt(async () => (await get(clientAtom).listModelVersions({ name })).versions);
    }),
    (prev) => prev ?? null,
  ),
);

/** One version, "name@vN" (null while loading). Versions are immutable: fetched once. */
export const modelVersionAtom = family((ref: string) =>
  unwrap(
    atom(async (get): Promise<Result<Model>> => attempt(() => get(clientAtom).getModel({ model: ref }))),
    () => null,
  ),
);
