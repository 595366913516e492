// The run the Run page shows (the one in the address), and what its cards read of it.
import { atom } from "jotai";
import { emptyFeed, type Feed } from "../api/watch";
import type { Job, Model } from "../gen/simlab/v1/simulation_pb";
import { jobFeedAtom } from "./job";
import { isScript, jobModelRef } from "../lib/models";
import { modelsLoadableAtom, modelVersionAtom } from "./models";
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

/** The model version the run shown ran (undefined until loaded): that version itself, or,
 * for a run from before versions or when it cannot be read, the catalogue's model of its name. */
export const runModelAtom = atom((get): Model | undefined => {
  const job = get(runJobAtom);
  if (!job) return undefined;
  if (job.modelVersion > 0) {
    const version = get(modelVersionAtom(jobModelRef(job)));
    if (version === null) return undefined;
    if (version.ok) return version.value;
  }
  const models = get(modelsLoadableAtom);
  return models.state === "hasData" ? models.data.find((m) => m.name === job.model) : undefined;
});

/** Whether the run shown is of a script model (one process, progress in its own units, no
 * blocks). Before its model is known, progress without blocks says so. */
export const runIsScriptAtom = atom((get): boolean => {
  const model = get(runModelAtom);
  if (model) return isScript(model);
  const progress = get(runJobAtom)?.progress;
  return progress !== undefined && progress.blocksTotal === 0n && progress.samplesDone > 0n;
});

/** The share token this page was opened with, when it is for the run shown: the page is
 * then a read-only view and its file links carry the token. */
export const runShareTokenAtom = atom((get): string | undefined => {
  const share = get(shareAtom);
  return share?.kind === "run" && share.id === get(runIdAtom) ? share.token : undefined;
});

/** How the run's primary output is called and measured. */
export const runOutputAtom = atom((get): { label: string; unit: string } => {
  const job = get(runJobAtom);
  const output = get(runModelAtom)?.outputs.find((o) => o.name === job?.primaryOutput);
  return { label: output?.label || job?.primaryOutput || "Estimate", unit: output?.unit ?? "" };
});
