// A share link of a finished run: what the holder of the link sees, and the revoke.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { e2eFile } from "./support/flow.mjs";
import { createShareLink, expectReadOnly, expectShareTokenSent, finishedOptionRun, openLogs, sharedContext, shot, waitState } from "./support/helpers.mjs";
import { OUT } from "./support/stack.mjs";

const flow = e2eFile(import.meta.url);

flow("share link: read-only view in a fresh context, downloads with ?share=, invalid after revoke", async ({ page, browser, url, pageErrors }) => {
  const id = await finishedOptionRun(url);
  await page.goto(`${url}/runs/${id}`);
  await waitState(page, "SUCCEEDED");
  const link = await createShareLink(page, 86_400);
  const token = new URL(link).searchParams.get("share");
  await page.waitForSelector('[data-testid="share-links"] tr[data-link-state="active"]');
  await shot(page, "18-share-panel");

  const { ctx, page: viewer, calls } = await sharedContext(browser, pageErrors);
  try {
    await viewer.goto(link);
    await waitState(viewer, "SUCCEEDED");
    await expectReadOnly(viewer);
    await viewer.waitForSelector('[data-testid="summary-table"]');
    await viewer.waitForSelector('[data-testid="result-chart"][data-chart-state="ready"]', { timeout: 30_000 });
    // The plot and the downloads are plain links: they carry ?share=.
    await viewer.waitForFunction(() => {
      const img = document.querySelector('[data-testid="plot-png"]');
      return img && img.complete && img.naturalWidth > 0;
    });
    const src = await viewer.getAttribute('[data-testid="plot-png"]', "src");
    assert.ok(src.includes(`share=${token}`), `plot src lacks the token: ${src}`);
    const href = await viewer.getAttribute('[data-testid="download-summary.json"]', "href");
    assert.ok(href.endsWith(`?share=${token}`), `download link lacks the token: ${href}`);
    const [download] = await Promise.all([viewer.waitForEvent("download"), viewer.click('[data-testid="download-summary.json"]')]);
    const file = join(OUT, "downloaded-shared-summary.json");
    await download.saveAs(file);
    assert.ok(typeof JSON.parse(readFileSync(file, "utf8")) === "object", "the shared summary.json is not JSON");
    // The finished run's stored logs.
    await openLogs(viewer);
    await viewer.waitForFunction(() => document.querySelectorAll('[data-testid="logs-view"] .log-line').length > 0, null, { timeout: 30_000 });
    await viewer.waitForSelector('[data-testid="logs-status"][data-connection="ended"]');
    const logText = await viewer.textContent('[data-testid="logs-view"]');
    assert.ok(/blocks?/.test(logText), `stored log has no block lines: ${logText.slice(0, 300)}`);
    await shot(viewer, "19-shared-view");
    const methods = await expectShareTokenSent(calls, token);
    for (const m of ["WatchJob", "TailLogs"]) assert.ok(methods.has(m), `the shared page never called ${m}: ${[...methods].join(", ")}`);
    // The address keeps the token (reload, copy).
    assert.ok(new URL(viewer.url()).searchParams.get("share") === token, `the address lost the token: ${viewer.url()}`);

    // The owner revokes it: the shared page, reloaded, says the link is dead.
    await page.click('[data-testid="share-links"] tr[data-link-state="active"] [data-testid="share-revoke"]');
    await page.waitForSelector('[data-testid="share-links"] tr[data-link-state="revoked"]');
    assert.ok((await page.$('[data-testid="share-url"]')) === null, "the revoked link's URL is still offered");
    await shot(page, "20-share-revoked-owner");
    await viewer.reload();
    await viewer.waitForSelector('[data-testid="share-invalid"] >> text=This link is no longer valid', { timeout: 30_000 });
    assert.ok((await viewer.$('[data-testid="run-page"]')) === null, "the run is still shown after the revoke");
    await shot(viewer, "21-share-invalid");
    const r = await fetch(`${url}/files/${id}/summary.json?share=${encodeURIComponent(token)}`, { redirect: "manual" });
    assert.ok(r.status === 401 || r.status === 403, `a download with the revoked token answered ${r.status}`);
  } finally {
    await ctx.close();
  }
});
