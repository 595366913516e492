import { beforeEach, describe, expect, it, vi } from "vitest";
import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { EventKind, JobState, type ShareLinkSchema } from "../../gen/simlab/v1/simulation_pb";
import { resetJobFeeds } from "../../state/job";
import { resetLogFeeds } from "../../state/logs";
import { resetShareLinks } from "../../state/share";
import { formatTime } from "../../lib/format";
import { SHARE_NEVER_EXPIRES } from "../../lib/share";
import { renderAt } from "../../test/render";
import { event, fakeClient, flush, job, logChunk, running, type FakeClient } from "../../test/fake";

async function snapshot(fake: FakeClient, j = running(3n, 500000, 10.4, 0.02), end = false) {
  await act(flush);
  await act(async () => {
    fake.streams[0]!.push(event(j.seq, EventKind.SNAPSHOT, j));
    if (end) fake.streams[0]!.end();
    await flush();
  });
}

beforeEach(() => {
  resetJobFeeds();
  resetLogFeeds();
  resetShareLinks();
  sessionStorage.clear();
});

describe("shared read-only view", () => {
  it("hides what needs an account, shows the badge and keeps the token in file links", async () => {
    const fake = fakeClient({ listArtifacts: async () => ({ artifacts: [{ name: "data.csv", size: 10n }] }) });
    renderAt("/runs/job-1?share=simlab_share_tok", fake);
    await snapshot(fake);
    expect(screen.getByTestId("shared-badge").textContent).toMatch(/Shared read-only view/);
    expect(screen.queryByTestId("cancel")).toBeNull();
    expect(screen.queryByTestId("run-again")).toBeNull();
    expect(screen.queryByTestId("share")).toBeNull();
    expect(screen.queryByRole("navigation", { name: "Main" })).toBeNull();
    expect(screen.queryByRole("navigation", { name: "Breadcrumb" })).toBeNull();
    expect(screen.getByLabelText("Simlab: the shared run").getAttribute("href")).toBe("/runs/job-1?share=simlab_share_tok");
  });

  it("passes the token to downloads and the plot of a finished run", async () => {
    const fake = fakeClient({ listArtifacts: async () => ({ artifacts: [{ name: "data.csv", size: 10n }] }) });
    renderAt("/runs/job-1?share=simlab_share_tok", fake);
    await snapshot(fake, job({ state: JobState.SUCCEEDED, seq: 9n, summary: { price: 1 } }), true);
    const dl = await screen.findByTestId("download-data.csv");
    expect(dl.getAttribute("href")).toBe("/files/job-1/data.csv?share=simlab_share_tok");
    expect(screen.getByTestId("plot-png").getAttribute("src")).toBe("/files/job-1/plot.png?inline=1&share=simlab_share_tok");
  });

  it("says the link is no longer valid when it was revoked or expired", async () => {
    const fake = fakeClient({
      watchJob: () => {
        throw new ConnectError("the share link was revoked", Code.Unauthenticated);
      },
    });
    sessionStorage.setItem("simlab.share", JSON.stringify({ kind: "run", id: "job-1", token: "simlab_share_old" }));
    renderAt("/runs/job-1", fake);
    expect(await screen.findByText("This link is no longer valid")).toBeTruthy();
    expect(screen.getByTestId("share-invalid").textContent).toMatch(/revoked/);
    // Not retried, and the tab forgets the token.
    expect(fake.fns.watchJob).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(sessionStorage.getItem("simlab.share")).toBeNull());
  });

  it("treats a link for another run the same way", async () => {
    const fake = fakeClient({
      watchJob: () => {
        throw new ConnectError("this share link is for run other only", Code.PermissionDenied);
      },
    });
    renderAt("/runs/job-1?share=simlab_share_x", fake);
    expect(await screen.findByText("This link is no longer valid")).toBeTruthy();
  });

  it("the owner's view of a missing run is unchanged", async () => {
    const fake = fakeClient({
      watchJob: () => {
        throw new ConnectError("permission denied", Code.PermissionDenied);
      },
    });
    renderAt("/runs/job-1", fake);
    expect(await screen.findByText("This run cannot be shown")).toBeTruthy();
  });
});

describe("Share panel", () => {
  it("creates a link, shows it once with a copy button, lists and revokes links", async () => {
    const now = Date.now();
    let links: MessageInitShape<typeof ShareLinkSchema>[] = [
      { linkId: "old-revoked", jobId: "job-1", createdAt: timestampFromMs(now - 9e6), revokedAt: timestampFromMs(now - 1e6) },
      { linkId: "old-expired", jobId: "job-1", createdAt: timestampFromMs(now - 9e6), expiresAt: timestampFromMs(now - 1000) },
    ];
    const fake = fakeClient({
      listShareLinks: async () => ({ links }),
      createShareLink: async ({ jobId }: { jobId: string }) => {
        const link = { linkId: "new-link", jobId, createdAt: timestampFromMs(now), expiresAt: timestampFromMs(now + 86_400_000) };
        links = [link, ...links];
        return { link, token: "simlab_share_fresh" };
      },
      revokeShareLink: async ({ linkId }: { linkId: string }) => {
        links = links.map((l) => (l.linkId === linkId ? { ...l, revokedAt: timestampFromMs(Date.now()) } : l));
        return links[0];
      },
    });
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    vi.spyOn(window, "confirm").mockReturnValue(true);
    renderAt("/runs/job-1", fake);
    await snapshot(fake);
    expect(screen.queryByTestId("shared-badge")).toBeNull();
    fireEvent.click(screen.getByTestId("share"));
    const panel = await screen.findByTestId("share-panel");
    const table = await within(panel).findByTestId("share-links");
    expect(table.querySelector('[data-link-id="old-revoked"]')!.getAttribute("data-link-state")).toBe("revoked");
    expect(table.querySelector('[data-link-id="old-expired"]')!.getAttribute("data-link-state")).toBe("expired");
    expect(within(panel).queryByTestId("share-revoke")).toBeNull();

    fireEvent.change(within(panel).getByTestId("share-expiry"), { target: { value: "86400" } });
    fireEvent.click(within(panel).getByTestId("share-create"));
    const url = (await within(panel).findByTestId("share-url")) as HTMLInputElement;
    expect(url.value).toBe(`${window.location.origin}/runs/job-1?share=simlab_share_fresh`);
    expect(fake.fns.createShareLink).toHaveBeenCalledWith({ jobId: "job-1", ttlSeconds: 86400n });
    // The new link says when it expires.
    expect(within(panel).getByTestId("share-new-expiry").textContent).toBe(`Expires ${formatTime(timestampFromMs(now + 86_400_000))}.`);
    fireEvent.click(within(panel).getByTestId("share-copy"));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(url.value));
    expect(await within(panel).findByText("Copied")).toBeTruthy();
    await waitFor(() => expect(panel.querySelector('[data-link-id="new-link"]')?.getAttribute("data-link-state")).toBe("active"));

    fireEvent.click(within(panel).getByTestId("share-revoke"));
    await waitFor(() => expect(panel.querySelector('[data-link-id="new-link"]')?.getAttribute("data-link-state")).toBe("revoked"));
    expect(fake.fns.revokeShareLink).toHaveBeenCalledWith({ linkId: "new-link" });
    // The revoked link's address is not offered any more.
    expect(within(panel).queryByTestId("share-url")).toBeNull();
  });

  it("creates links that never expire only when asked, and says so", async () => {
    const fake = fakeClient();
    renderAt("/runs/job-1", fake);
    await snapshot(fake);
    fireEvent.click(screen.getByTestId("share"));
    fireEvent.change(await screen.findByTestId("share-expiry"), { target: { value: String(SHARE_NEVER_EXPIRES) } });
    fireEvent.click(screen.getByTestId("share-create"));
    await screen.findByTestId("share-url");
    expect(fake.fns.createShareLink).toHaveBeenCalledWith({ jobId: "job-1", ttlSeconds: -1n });
    expect(screen.getByTestId("share-new-expiry").textContent).toMatch(/^Never expires/);
  });
});

describe("Logs panel", () => {
  it("streams the workers' output when opened, with shard labels and a shard filter", async () => {
    const fake = fakeClient();
    renderAt("/runs/job-1", fake);
    await snapshot(fake, { ...running(3n, 500000, 10.4, 0.02), shards: 2 });
    expect(screen.getByTestId("logs").getAttribute("data-open")).toBe("false");
    expect(fake.fns.tailLogs).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId("logs-toggle"));
    await act(flush);
    expect(fake.fns.tailLogs).toHaveBeenCalledWith({ jobId: "job-1", follow: true }, expect.anything());
    expect(screen.getByTestId("logs-view").textContent).toMatch(/Waiting for output/);
    await act(async () => {
      fake.logStreams[0]!.push(logChunk(0, "shard 0: 1/5 blocks\n"));
      fake.logStreams[0]!.push(logChunk(1, "shard 1: 1/5 blocks\nshard 1: 2/5"));
      await flush();
    });
    const view = screen.getByTestId("logs-view");
    const lines = [...view.querySelectorAll(".log-line")].map((l) => l.textContent);
    expect(lines).toEqual(["[0]shard 0: 1/5 blocks", "[1]shard 1: 1/5 blocks", "[1]shard 1: 2/5"]);
    expect(screen.getByTestId("logs-status").textContent).toMatch(/3 lines · streaming/);
    fireEvent.change(screen.getByTestId("logs-shard"), { target: { value: "1" } });
    expect([...view.querySelectorAll(".log-line")].map((l) => l.getAttribute("data-shard"))).toEqual(["1", "1"]);
    // Follow can be switched off; collapsing closes the stream.
    const follow = screen.getByTestId("logs-follow") as HTMLInputElement;
    expect(follow.checked).toBe(true);
    fireEvent.click(follow);
    expect(follow.checked).toBe(false);
    const signal = fake.fns.tailLogs!.mock.calls[0]![1].signal as AbortSignal;
    fireEvent.click(screen.getByTestId("logs-toggle"));
    expect(signal.aborted).toBe(true);
  });

  it("is open next to the error of a failed run, with the stored output", async () => {
    const fake = fakeClient({ getJob: async () => job({ state: JobState.FAILED }) });
    renderAt("/runs/job-1", fake);
    await snapshot(fake, job({ state: JobState.FAILED, seq: 9n, error: { message: "model raised ValueError" } }), true);
    const logs = screen.getByTestId("logs");
    expect(logs.getAttribute("data-open")).toBe("true");
    // Right after the failure card.
    expect(screen.getByTestId("failure").nextElementSibling).toBe(logs);
    await act(async () => {
      fake.logStreams[0]!.push(logChunk(0, "Traceback (most recent call last):\nValueError: boom"));
      fake.logStreams[0]!.end();
      await flush();
      await flush();
    });
    const lines = [...screen.getByTestId("logs-view").querySelectorAll(".log-line")].map((l) => l.textContent);
    expect(lines).toEqual(["Traceback (most recent call last):", "ValueError: boom"]);
    expect(screen.getByTestId("logs-status").getAttribute("data-connection")).toBe("ended");
  });
});
