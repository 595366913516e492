import { atom } from "jotai";
import { loadable } from "jotai/utils";
import type { Model } from "../gen/simlab/v1/simulation_pb";
import { clientAtom } from "./client";

const modelsRefreshAtom = atom(0);

/** The model catalogue (ListModels), loaded once per session. */
export const modelsAtom = atom(async (get): Promise<Model[]> => {
  get(modelsRefreshAtom);
  const res = await get(clientAtom).listModels({});
  return res.models;
});

export const modelsLoadableAtom = loadable(modelsAtom);

export const reloadModelsAtom = atom(null, (_get, set) => set(modelsRefreshAtom, (n) => n + 1));
