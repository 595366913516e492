// What a finished run left behind: its artifacts and the data of its interactive charts.
import { atom } from "jotai";
import { unwrap } from "jotai/utils";
import type { Artifact, Job } from "../gen/simlab/v1/simulation_pb";
import type { SimulationClient } from "../api/client";
import { toApiError, type ApiError } from "../api/errors";
import { parseChart, type ChartData } from "../lib/chart";
import { family } from "../lib/family";
import { mergePoints, pointOfHistory, type Point } from "../api/watch";
import { clientAtom } from "./client";

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** The value of `fn`, or the error it threw as the UI shows it. */
export async function attempt<T>(fn: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: toApiError(err) };
  }
}

export async function readArtifact(client: SimulationClient, jobId: string, name: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of client.getArtifact({ jobId, name })) {
    parts.push(chunk.data);
    size += chunk.data.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The artifacts of a job (null while loading); the key includes the job's state so a
 * finishing run lists them again. */
export const artifactsAtom = family((key: string) =>
  unwrap(
    atom(async (get): Promise<Result<Artifact[]>> => {
      const jobId = key.split("@")[0]!;
      return attempt(async () => (await get(clientAtom).listArtifacts({ jobId })).artifacts);
    }),
    () => null,
  ),
);

/** chart.json of a job, parsed (null while loading). */
export const chartDataAtom = family((jobId: string) =>
  unwrap(
    atom(async (get): Promise<Result<ChartData>> =>
      attempt(async () => {
        if (!jobId) return { histograms: [] };
        const bytes = await readArtifact(get(clientAtom), jobId, "chart.json");
        return parseChart(JSON.parse(new TextDecoder().decode(bytes)));
      }),
    ),
    () => null,
  ),
);

export interface RunData {
  job: Job;
  points: Point[];
  chart?: ChartData;
}

/** A finished job with its convergence points and chart data, for Compare. */
export const runDataAtom = family((jobId: string) =>
  unwrap(
    atom(async (get): Promise<Result<RunData>> =>
      attempt(async () => {
        const client = get(clientAtom);
        const [job, history, chart] = await Promise.all([
          client.getJob({ jobId }),
          client.getProgressHistory({ jobId }).catch(() => null),
          readArtifact(client, jobId, "chart.json")
            .then((b) => parseChart(JSON.parse(new TextDecoder().decode(b))))
            .catch(() => undefined),
        ]);
        const pts = (history?.points ?? []).map(pointOfHistory).filter((p): p is Point => p !== undefined);
        return { job, points: mergePoints([], pts), ...(chart ? { chart } : {}) };
      }),
    ),
    () => null,
  ),
);
