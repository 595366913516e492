// Studies: the live feed of a study (one WatchStudy stream per study, opened by the Study page),
// what the Study page's cards read of it, its actions, the studies list, and a study as a
// point's run page names it.
import { atom } from "jotai";
import { unwrap } from "jotai/utils";
import type { ComparePointsResponse, Model, Study } from "../gen/simlab/v1/simulation_pb";
import { emptyStudyFeed, followStudy, isStudyEnded, type StudyFeed } from "../api/studyWatch";
import { toApiError, type ApiError } from "../api/errors";
import { family } from "../lib/family";
import { DEFAULT_CONFIDENCE } from "../lib/precision";
import { rowsOf, type PointRow } from "../lib/study/points";
import { clientAtom } from "./client";
import { liveFeedFamily } from "./feed";
import { modelVersionAtom } from "./models";
import { attempt, type Result } from "./results";
import { routeAtom } from "./router";
import { shareAtom } from "./share";

/** The live state of one study; an ended study's feed is not opened again. */
export const studyFeedAtom = liveFeedFamily<StudyFeed>((studyId) => ({
  initial: emptyStudyFeed,
  starting: (f) => (f.connection === "ended" && isStudyEnded(f.study?.state) ? null : { ...f, connection: f.study ? "reconnecting" : "connecting" }),
  follow: (client, update, signal) => followStudy(client, studyId, update, signal),
}));

/** Forget cached feeds (tests). */
export const resetStudyFeeds = (): void => studyFeedAtom.clear();

/** The id of the study in the address ("" on other pages). */
export const studyIdAtom = atom((get) => {
  const route = get(routeAtom);
  return route.page === "study" ? route.id : "";
});

/** The feed of the study shown; no stream is opened off the Study page. */
export const studyPageFeedAtom = atom((get): StudyFeed => {
  const id = get(studyIdAtom);
  return id ? get(studyFeedAtom(id)) : emptyStudyFeed;
});

export const shownStudyAtom = atom((get): Study | undefined => get(studyPageFeedAtom).study);

/** The share token this page was opened with, when it is for the study shown: the page is
 * then a read-only view, and its links to points and downloads carry the token. */
export const studyShareTokenAtom = atom((get): string | undefined => {
  const share = get(shareAtom);
  return share?.kind === "study" && share.id === get(studyIdAtom) ? share.token : undefined;
});

/** The confidence of the points' intervals: the precision target's, else 95 %. */
export const studyConfidenceAtom = atom((get): number => get(shownStudyAtom)?.spec?.precision?.confidence || DEFAULT_CONFIDENCE);

/** The points as table rows, in index order (recomputed when the feed hands on a change,
 * at most about once a second). */
export const studyRowsAtom = atom((get): PointRow[] => rowsOf(get(studyPageFeedAtom).points, get(studyConfidenceAtom)));

/** "name@vN" of the version every point runs. */
export function studyModelRef(study: Pick<Study, "spec" | "modelVersion">): string {
  const name = (study.spec?.model ?? "").split("@")[0] ?? "";
  return study.modelVersion > 0 ? `${name}@v${study.modelVersion}` : name;
}

/** The model version the study runs (undefined until loaded, or when it cannot be read:
 * labels then fall back to the parameters' names). */
export const studyModelAtom = atom((get): Model | undefined => {
  const study = get(shownStudyAtom);
  if (!study) return undefined;
  const version = get(modelVersionAtom(studyModelRef(study)));
  return version?.ok ? version.value : undefined;
});

/** How the study's primary output is called and measured. */
export const studyOutputAtom = atom((get): { label: string; unit: string } => {
  const study = get(shownStudyAtom);
  const output = get(studyModelAtom)?.outputs.find((o) => o.name === study?.primaryOutput);
  return { label: output?.label || study?.primaryOutput || "Estimate", unit: output?.unit ?? "" };
});

/** Cancels every point; the feed shows them end. */
export const cancelStudyAtom = atom(null, async (get, _set, studyId: string) => get(clientAtom).cancelStudy({ studyId }));

/** The difference of two finished points, with its paired standard error. */
export const comparePointsAtom = atom(
  null,
  async (get, _set, studyId: string, a: number, b: number): Promise<Result<ComparePointsResponse>> =>
    attempt(() => get(clientAtom).comparePoints({ studyId, a, b })),
);

/** A study as a point's run page names it (null while loading). Fetched once. */
export const studyInfoAtom = family((studyId: string) =>
  unwrap(
    atom(async (get): Promise<Result<Study>> => attempt(() => get(clientAtom).getStudy({ studyId }))),
    () => null,
  ),
);

// ---- the studies list ------------------------------------------------------------------

export const STUDIES_PAGE_SIZE = 20;

/** Tokens of the pages seen so far; the last one is the page shown. */
const studiesTokensPrimAtom = atom<string[]>([""]);
const studiesRefreshPrimAtom = atom(0);

export interface StudiesPage {
  studies: Study[];
  nextPageToken: string;
  pageIndex: number;
  error?: ApiError;
}

const studiesPageAsyncAtom = atom(async (get): Promise<StudiesPage> => {
  get(studiesRefreshPrimAtom);
  const tokens = get(studiesTokensPrimAtom);
  const pageIndex = tokens.length - 1;
  try {
    const res = await get(clientAtom).listStudies({ pageSize: STUDIES_PAGE_SIZE, pageToken: tokens[pageIndex] ?? "" });
    return { studies: res.studies, nextPageToken: res.nextPageToken, pageIndex };
  } catch (err) {
    return { studies: [], nextPageToken: "", pageIndex, error: toApiError(err) };
  }
});

/** The page shown; the previous one while the next loads (null on first load). */
export const studiesPageAtom = unwrap(studiesPageAsyncAtom, (prev) => prev ?? null);

export const studiesPagingAtom = atom(null, (get, set, dir: "next" | "prev") => {
  const tokens = get(studiesTokensPrimAtom);
  if (dir === "prev") set(studiesTokensPrimAtom, tokens.length > 1 ? tokens.slice(0, -1) : tokens);
  else {
    const next = get(studiesPageAtom)?.nextPageToken;
    if (next) set(studiesTokensPrimAtom, [...tokens, next]);
  }
});

export const refreshStudiesAtom = atom(null, (_get, set) => set(studiesRefreshPrimAtom, (n) => n + 1));
