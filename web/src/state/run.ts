// The run the Run page shows (the one in the address), and what its cards read of it.
import { atom } from "jotai";
import { emptyFeed, type Feed } from "../api/watch";
import type { Job, Model } from "../gen/simlab/v1/simulation_pb";
import { jobFeedAtom } from "./job";
import { modelsLoadableAtom } from "./models";
import { routeAtom } from "./router";
import { shareAtom } from "./share";

/** The id of the run in the address ("" on other pages). */
export const runIdAtom = atom((get) => {
  const route = get(routeAtom);
  return route.page === "run" ? route.id : "";
});

/** The live feed of the run shown; no feed is opened off the Run page. */
export const runFeedAtom = atom((get): Feed => {
  const id = get(runIdAtom);
  return id ? get(jobFeedAtom(id)) : emptyFeed;
});

export const runJobAtom = atom((get): Job | undefined => get(runFeedAtom).job);

/** The model of the run shown (undefined until the catalogue and the job are loaded). */
export const runModelAtom = atom((get): Model | undefined => {
  const models = get(modelsLoadableAtom);
  const name = get(runJobAtom)?.model;
  return models.state === "hasData" ? models.data.find((m) => m.name === name) : undefined;
});

/** The share token this page was opened with, when it is for the run shown: the page is
 * then a read-only view and its file links carry the token. */
export const runShareTokenAtom = atom((get): string | undefined => {
  const share = get(shareAtom);
  return share?.jobId === get(runIdAtom) ? share.token : undefined;
});

/** How the run's primary output is called and measured. */
export const runOutputAtom = atom((get): { label: string; unit: string } => {
  const job = get(runJobAtom);
  const output = get(runModelAtom)?.outputs.find((o) => o.name === job?.primaryOutput);
  return { label: output?.label || job?.primaryOutput || "Estimate", unit: output?.unit ?? "" };
});
