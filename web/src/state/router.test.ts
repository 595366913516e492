import { describe, expect, it } from "vitest";
import { createStore } from "jotai";
import { locationAtom, matchRoute, routeAtom } from "./router";

describe("routes", () => {
  it("matches every page", () => {
    expect(matchRoute({ pathname: "/", search: "" })).toEqual({ page: "runs" });
    expect(matchRoute({ pathname: "/runs/abc%20d", search: "" })).toEqual({ page: "run", id: "abc d" });
    expect(matchRoute({ pathname: "/new", search: "?from=j1" })).toEqual({ page: "new", from: "j1" });
    expect(matchRoute({ pathname: "/compare", search: "?ids=a,b,a,c,d,e" })).toEqual({ page: "compare", ids: ["a", "b", "c", "d"] });
    expect(matchRoute({ pathname: "/models/", search: "" })).toEqual({ page: "models" });
    expect(matchRoute({ pathname: "/new", search: "?model=mine%40v2" })).toEqual({ page: "new", model: "mine@v2" });
    expect(matchRoute({ pathname: "/studies", search: "" })).toEqual({ page: "studies" });
    expect(matchRoute({ pathname: "/studies/new", search: "?model=pi" })).toEqual({ page: "newStudy", model: "pi" });
    expect(matchRoute({ pathname: "/studies/s%201/", search: "?share=t" })).toEqual({ page: "study", id: "s 1" });
    expect(matchRoute({ pathname: "/nope", search: "" })).toEqual({ page: "notFound" });
  });
  it("navigates with the history API", () => {
    const store = createStore();
    store.set(locationAtom, "/runs/j9");
    expect(window.location.pathname).toBe("/runs/j9");
    expect(store.get(routeAtom)).toEqual({ page: "run", id: "j9" });
  });
});
