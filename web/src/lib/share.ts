// Share links: `/runs/<id>?share=<token>` opens a read-only view of one run, and
// `/studies/<id>?share=<token>` one of a study and its points (whose run pages it links to with
// the same token), for someone without an account. The token is the bearer of every call that
// page makes; the tab keeps it (sessionStorage) so the shared page still works if the address
// loses the query. Only the shared page uses it: any other page of the tab is the signed-in view.
// Pure of React and Jotai (the transport uses it too).

export const SHARE_PARAM = "share";
export const SHARE_TOKEN_PREFIX = "simlab_share_";
const STORAGE_KEY = "simlab.share";

/** What a link shares: a run or a study. */
export type ShareKind = "run" | "study";

export interface ShareTarget {
  kind: ShareKind;
  id: string;
}

export interface ShareContext extends ShareTarget {
  token: string;
}

interface Where {
  pathname: string;
  search: string;
}

const PAGE_OF: Record<ShareKind, string> = { run: "runs", study: "studies" };

function idOfPath(pathname: string, page: string): string | undefined {
  const m = new RegExp(`^/${page}/([^/]+)/*$`).exec(pathname);
  if (!m || !m[1]) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

/** The run id of a `/runs/<id>` path. */
export function runIdOfPath(pathname: string): string | undefined {
  return idOfPath(pathname, PAGE_OF.run);
}

/** The study id of a `/studies/<id>` path (`/studies/new` is the form, not a study). */
export function studyIdOfPath(pathname: string): string | undefined {
  const id = idOfPath(pathname, PAGE_OF.study);
  return id === "new" ? undefined : id;
}

/** The run or study a page shows, if it is a page a link can share. */
export function shareTargetOfPath(pathname: string): ShareTarget | undefined {
  const run = runIdOfPath(pathname);
  if (run !== undefined) return { kind: "run", id: run };
  const study = studyIdOfPath(pathname);
  return study !== undefined ? { kind: "study", id: study } : undefined;
}

export function tabStorage(): Storage | undefined {
  try {
    return typeof window === "undefined" ? undefined : window.sessionStorage;
  } catch {
    return undefined; // storage disabled: the token then lives in the address only
  }
}

function kept(storage: Storage | undefined): ShareContext | null {
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    if (!raw) return null;
    const v = JSON.parse(raw) as Partial<ShareContext>;
    return (v.kind === "run" || v.kind === "study") && typeof v.id === "string" && typeof v.token === "string" && v.token
      ? { kind: v.kind, id: v.id, token: v.token }
      : null;
  } catch {
    return null;
  }
}

/** The share link this address opens: its ?share= token, or the one the tab kept for this
 * run or study. Null on every other page. */
export function shareOf(where: Where, storage: Storage | undefined = tabStorage()): ShareContext | null {
  const target = shareTargetOfPath(where.pathname);
  if (target === undefined) return null;
  const token = new URLSearchParams(where.search).get(SHARE_PARAM)?.trim();
  if (token) return { ...target, token };
  const k = kept(storage);
  return k && k.kind === target.kind && k.id === target.id ? k : null;
}

/** Keeps the ?share= token of this address for the rest of the tab's session. */
export function rememberShare(where: Where, storage: Storage | undefined = tabStorage()): void {
  const target = shareTargetOfPath(where.pathname);
  const token = new URLSearchParams(where.search).get(SHARE_PARAM)?.trim();
  if (target === undefined || !token) return;
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify({ ...target, token }));
  } catch {
    /* quota or disabled storage: the address still has it */
  }
}

/** Drops the kept token (a revoked or expired link). */
export function forgetShare(storage: Storage | undefined = tabStorage()): void {
  try {
    storage?.removeItem(STORAGE_KEY);
  } catch {
    /* nothing kept */
  }
}

/** The token of the page the browser shows now, for the transport. */
export function currentShareToken(): string | undefined {
  if (typeof window === "undefined") return undefined;
  return shareOf(window.location)?.token;
}

/** `path` with ?share=<token> added (paths of this origin, with or without a query). */
export function withShare(path: string, token: string | undefined): string {
  if (!token) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${SHARE_PARAM}=${encodeURIComponent(token)}`;
}

/** The in-app address of a run, carrying the share token when the view is a shared one. */
export function runPath(jobId: string, token?: string): string {
  return withShare(`/runs/${encodeURIComponent(jobId)}`, token);
}

/** The in-app address of a study, carrying the share token when the view is a shared one. */
export function studyPath(studyId: string, token?: string): string {
  return withShare(`/studies/${encodeURIComponent(studyId)}`, token);
}

/** The in-app address of what a link shares. */
export function sharedPath(target: ShareTarget, token?: string): string {
  return target.kind === "run" ? runPath(target.id, token) : studyPath(target.id, token);
}

/** The address to hand out for a share link. */
export function shareUrl(origin: string, target: ShareTarget, token: string): string {
  return `${origin.replace(/\/+$/, "")}${sharedPath(target, token)}`;
}

/** CreateShareLink's ttlSeconds for a link that never expires (0 takes the server's default
 * expiry, 30 days unless configured): never-expiring links are only made when asked for. */
export const SHARE_NEVER_EXPIRES = -1;

/** Choices of the Share dialog. */
export const SHARE_EXPIRY_CHOICES: { label: string; seconds: number }[] = [
  { label: "1 day", seconds: 86_400 },
  { label: "7 days", seconds: 7 * 86_400 },
  { label: "30 days", seconds: 30 * 86_400 },
  { label: "Never", seconds: SHARE_NEVER_EXPIRES },
];
