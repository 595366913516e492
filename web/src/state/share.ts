// Share links: whether this page is a shared read-only view, and the owner's links of a run or
// a study.
import { atom, type WritableAtom } from "jotai";
import { unwrap } from "jotai/utils";
import type { CreateShareLinkResponse, ShareLink } from "../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../api/errors";
import { shareOf, type ShareContext, type ShareTarget } from "../lib/share";
import { family } from "../lib/family";
import { clientAtom } from "./client";
import { locationAtom } from "./router";

/** The share link this page was opened with (null: the signed-in view). */
export const shareAtom = atom<ShareContext | null>((get) => shareOf(get(locationAtom)));

export type LinksResult = { ok: true; links: ShareLink[] } | { ok: false; error: ApiError };

/** The request field that names what a link shares. */
function targetField(target: ShareTarget): { jobId: string } | { studyId: string } {
  return target.kind === "run" ? { jobId: target.id } : { studyId: target.id };
}

const linksOf = family((key: string): WritableAtom<LinksResult | null, [], void> => {
  const target = JSON.parse(key) as ShareTarget;
  const versionAtom = atom(0);
  const loadAtom = atom(async (get): Promise<LinksResult> => {
    get(versionAtom);
    try {
      return { ok: true, links: (await get(clientAtom).listShareLinks(targetField(target))).links };
    } catch (err) {
      return { ok: false, error: toApiError(err) };
    }
  });
  const shown = unwrap(loadAtom, (prev) => prev ?? null);
  return atom(
    (get) => get(shown),
    (_get, set) => set(versionAtom, (v) => v + 1),
  );
});

/** The links of a run or a study, newest first (null while first loading; the previous list
 * while reloading). Writing to it reloads. */
export function shareLinksAtom(target: ShareTarget): WritableAtom<LinksResult | null, [], void> {
  return linksOf(JSON.stringify({ kind: target.kind, id: target.id }));
}

/** Forget the loaded lists (tests). */
export const resetShareLinks = (): void => linksOf.clear();

/** Creates a link (SHARE_NEVER_EXPIRES: it never expires) and reloads the list; the response
 * has the token. */
export const createShareLinkAtom = atom(null, async (get, set, target: ShareTarget, ttlSeconds: number): Promise<CreateShareLinkResponse> => {
  const res = await get(clientAtom).createShareLink({ ...targetField(target), ttlSeconds: BigInt(ttlSeconds) });
  set(shareLinksAtom(target));
  return res;
});

export const revokeShareLinkAtom = atom(null, async (get, set, target: ShareTarget, linkId: string): Promise<ShareLink> => {
  const link = await get(clientAtom).revokeShareLink({ linkId });
  set(shareLinksAtom(target));
  return link;
});
