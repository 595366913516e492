// A running job's live logs, through a network drop, and its shared view.
import assert from "node:assert/strict";
import { e2eFile } from "./support/flow.mjs";
import { createShareLink, expectReadOnly, expectShareTokenSent, fillForm, logLineCount, openLogs, sharedContext, shot, submitAndOpen, waitState } from "./support/helpers.mjs";

const flow = e2eFile(import.meta.url);

flow("live logs of a running job, and its shared view without Cancel", async ({ page, browser, url, pageErrors, note }) => {
  await page.goto(url + "/new");
  await fillForm(page, "pi", { samples: "10000000000" });
  const id = await submitAndOpen(page);
  await waitState(page, "RUNNING", 90_000);
  await openLogs(page);
  // Wait for the worker's block lines themselves, not for "more lines than before": the
  // first lines ("starting", the plan) come before any block, so a count-based wait raced.
  const blockLines = () =>
    page.$$eval('[data-testid="logs-view"] .log-line', (els) => els.map((e) => e.textContent).filter((t) => /^shard 0: \d+\/\d+ blocks/.test(t)));
  const moreBlockLines = (n) =>
    page.waitForFunction(
      (k) => [...document.querySelectorAll('[data-testid="logs-view"] .log-line')].filter((e) => /^shard 0: \d+\/\d+ blocks/.test(e.textContent)).length > k,
      n,
      { timeout: 60_000 },
    );
  await moreBlockLines(0);
  // New block lines arrive while it runs (the worker reports every few seconds).
  await moreBlockLines((await blockLines()).length);
  assert.ok((await page.getAttribute('[data-testid="logs-status"]', "data-connection")) === "live", "the log stream is not live");
  await shot(page, "22-run-logs-live");
  // A network drop: the log stream comes back and the server's replay is not shown twice.
  try {
    await page.context().setOffline(true);
    await page.waitForSelector('[data-testid="logs-status"][data-connection="reconnecting"]', { timeout: 30_000 });
  } finally {
    await page.context().setOffline(false);
  }
  await page.waitForSelector('[data-testid="logs-status"][data-connection="live"]', { timeout: 30_000 });
  await moreBlockLines((await blockLines()).length);
  const blocks = await blockLines();
  assert.ok(new Set(blocks).size === blocks.length, `lines shown twice after the reconnect: ${blocks.filter((b, i) => blocks.indexOf(b) !== i).slice(0, 3).join(" | ")}`);

  const link = await createShareLink(page, -1); // "Never" (SHARE_NEVER_EXPIRES)
  const token = new URL(link).searchParams.get("share");
  await page.waitForSelector('[data-testid="share-links"] tr[data-link-state="active"] >> text=Never');
  const { ctx, page: viewer, calls } = await sharedContext(browser, pageErrors);
  try {
    await viewer.goto(link);
    await waitState(viewer, "RUNNING", 30_000);
    await expectReadOnly(viewer);
    await openLogs(viewer);
    await viewer.waitForFunction(() => document.querySelectorAll('[data-testid="logs-view"] .log-line').length > 0, null, { timeout: 60_000 });
    const n = await logLineCount(viewer);
    await viewer.waitForFunction((k) => document.querySelectorAll('[data-testid="logs-view"] .log-line').length > k, n, { timeout: 60_000 });
    await shot(viewer, "23-shared-running");
    await expectShareTokenSent(calls, token);
    // The owner cancels: the shared view follows it to the end.
    await page.click('[data-testid="cancel"]');
    await waitState(page, "CANCELLED", 60_000);
    await waitState(viewer, "CANCELLED", 60_000);
  } finally {
    await ctx.close();
  }
  note(`live log of ${id}: ${await logLineCount(page)} line(s) seen`);
});
