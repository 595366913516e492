import { atom } from "jotai";
import { createSimulationClient, type SimulationClient } from "../api/client";

let defaultClient: SimulationClient | undefined;

const clientOverrideAtom = atom<SimulationClient | null>(null);

/** The API client every atom uses. Tests (and stories) write a fake into it. */
export const clientAtom = atom(
  (get) => get(clientOverrideAtom) ?? (defaultClient ??= createSimulationClient()),
  (_get, set, client: SimulationClient | null) => set(clientOverrideAtom, client),
);
