import { beforeEach, describe, expect, it } from "vitest";
import { fileUrl, studyCsvUrl } from "../api/client";
import { forgetShare, rememberShare, runIdOfPath, runPath, shareOf, shareUrl, studyIdOfPath, studyPath, withShare } from "./share";

beforeEach(() => sessionStorage.clear());

describe("share links", () => {
  it("reads the token of a run's address", () => {
    expect(shareOf({ pathname: "/runs/abc", search: "?share=simlab_share_t" })).toEqual({ kind: "run", id: "abc", token: "simlab_share_t" });
    expect(shareOf({ pathname: "/runs/abc", search: "" })).toBeNull();
    // Only a run's page is a shared view.
    expect(shareOf({ pathname: "/new", search: "?share=simlab_share_t" })).toBeNull();
    expect(runIdOfPath("/runs/a%2Fb/")).toBe("a/b");
    expect(runIdOfPath("/runs/")).toBeUndefined();
  });

  it("reads the token of a study's address (the form at /studies/new is not a study)", () => {
    expect(shareOf({ pathname: "/studies/s1/", search: "?share=t" })).toEqual({ kind: "study", id: "s1", token: "t" });
    expect(shareOf({ pathname: "/studies/new", search: "?share=t" })).toBeNull();
    expect(shareOf({ pathname: "/studies", search: "?share=t" })).toBeNull();
    expect(studyIdOfPath("/studies/a%20b")).toBe("a b");
  });

  it("keeps a study's token for that study only: its points' pages carry it in their address", () => {
    rememberShare({ pathname: "/studies/s1", search: "?share=t" });
    expect(shareOf({ pathname: "/studies/s1", search: "" })?.token).toBe("t");
    expect(shareOf({ pathname: "/runs/s1", search: "" })).toBeNull();
    expect(shareOf({ pathname: "/runs/job-p0", search: "?share=t" })).toEqual({ kind: "run", id: "job-p0", token: "t" });
  });

  it("keeps the token for the tab, for that run only, until forgotten", () => {
    rememberShare({ pathname: "/runs/abc", search: "?share=simlab_share_t" });
    expect(shareOf({ pathname: "/runs/abc", search: "" })?.token).toBe("simlab_share_t");
    expect(shareOf({ pathname: "/runs/other", search: "" })).toBeNull();
    expect(shareOf({ pathname: "/", search: "" })).toBeNull();
    forgetShare();
    expect(shareOf({ pathname: "/runs/abc", search: "" })).toBeNull();
  });

  it("puts the token in links", () => {
    expect(runPath("a b", "tok/1")).toBe("/runs/a%20b?share=tok%2F1");
    expect(runPath("a")).toBe("/runs/a");
    expect(withShare("/files/a/x?inline=1", "t")).toBe("/files/a/x?inline=1&share=t");
    expect(shareUrl("http://h:1/", { kind: "run", id: "j" }, "t")).toBe("http://h:1/runs/j?share=t");
    expect(shareUrl("http://h:1", { kind: "study", id: "s" }, "t")).toBe("http://h:1/studies/s?share=t");
    expect(studyPath("s", "t")).toBe("/studies/s?share=t");
    expect(studyCsvUrl("s 1")).toBe("/studies/s%201/study.csv");
    expect(studyCsvUrl("s", "t")).toBe("/studies/s/study.csv?share=t");
    expect(fileUrl("j", "dir/plot.png", true, "simlab_share_x")).toBe("/files/j/dir/plot.png?inline=1&share=simlab_share_x");
    expect(fileUrl("j", "data.csv", false, "t")).toBe("/files/j/data.csv?share=t");
    expect(fileUrl("j", "data.csv")).toBe("/files/j/data.csv");
  });
});
