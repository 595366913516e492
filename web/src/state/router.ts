// Client-side routes kept in one atom; the gateway falls back to index.html for all of them.
import { atom } from "jotai";
import { studyIdOfPath } from "../lib/share";

export interface Loc {
  pathname: string;
  search: string;
}

export type Route =
  | { page: "runs" }
  | { page: "new"; from?: string; model?: string }
  | { page: "run"; id: string }
  | { page: "compare"; ids: string[] }
  | { page: "models" }
  | { page: "studies" }
  | { page: "newStudy"; model?: string }
  | { page: "study"; id: string }
  | { page: "notFound" };

function read(): Loc {
  return { pathname: window.location.pathname, search: window.location.search };
}

const locationPrimAtom = atom<Loc>(read());
locationPrimAtom.onMount = (set) => {
  const onPop = () => set(read());
  onPop(); // the address may have changed since this module loaded
  window.addEventListener("popstate", onPop);
  return () => window.removeEventListener("popstate", onPop);
};

export const locationAtom = atom(
  (get) => get(locationPrimAtom),
  (_get, set, to: string, replace = false) => {
    if (replace) window.history.replaceState(null, "", to);
    else window.history.pushState(null, "", to);
    set(locationPrimAtom, read());
    if (!replace) window.scrollTo?.(0, 0);
  },
);

export function matchRoute(loc: Loc): Route {
  const q = new URLSearchParams(loc.search);
  const path = loc.pathname.replace(/\/+$/, "") || "/";
  if (path === "/" || path === "/runs") return { page: "runs" };
  if (path === "/new") {
    const from = q.get("from");
    const model = q.get("model");
    return { page: "new", ...(from ? { from } : {}), ...(model ? { model } : {}) };
  }
  if (path === "/models") return { page: "models" };
  if (path === "/studies") return { page: "studies" };
  if (path === "/studies/new") {
    const model = q.get("model");
    return { page: "newStudy", ...(model ? { model } : {}) };
  }
  const study = studyIdOfPath(path);
  if (study !== undefined) return { page: "study", id: study };
  const run = /^\/runs\/([^/]+)$/.exec(path);
  if (run && run[1]) return { page: "run", id: decodeURIComponent(run[1]) };
  if (path === "/compare") {
    const ids = (q.get("ids") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    return { page: "compare", ids: [...new Set(ids)].slice(0, 4) };
  }
  return { page: "notFound" };
}

export const routeAtom = atom((get) => matchRoute(get(locationAtom)));
