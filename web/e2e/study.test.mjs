// A study in the browser: submitted from the New study form (European option, 2 strikes x 3
// volatilities, common random numbers), its page filling in live to SUCCEEDED, the table
// sorted, two points compared, the CSV downloaded, a point's run page and back, and a share
// link opened in a fresh context (a read-only study page with the same points, whose points
// open read-only too).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { e2eFile } from "./support/flow.mjs";
import { expectReadOnly, expectShareTokenSent, sharedContext, shot } from "./support/helpers.mjs";
import { OUT } from "./support/stack.mjs";

const flow = e2eFile(import.meta.url);

const STRIKES = ["95", "105"];
const VOLATILITIES = ["0.15", "0.2", "0.25"];

/** Waits until the study page shows the study in one of `states` (e.g. "SUCCEEDED"). */
async function waitStudyState(page, states, timeout = 240_000) {
  const want = Array.isArray(states) ? states : [states];
  await page.waitForFunction((w) => w.includes(document.querySelector('[data-testid="study-page"]')?.getAttribute("data-state")), want, { timeout, polling: 200 });
}

/** The points table as shown: index, state, job link and estimate of each row in DOM order. */
function tableRows(page) {
  return page.$$eval("[data-point-index]", (rows) =>
    rows.map((r) => ({
      index: Number(r.getAttribute("data-point-index")),
      state: r.getAttribute("data-state"),
      href: r.querySelector('[data-testid="point-link"]')?.getAttribute("href") ?? "",
      estimate: Number((r.querySelector('[data-testid="point-estimate"]')?.textContent ?? "").replace(/,/g, "")),
    })),
  );
}

flow("study: submit from the form, watch it fill in, sort, compare, CSV, open a point, share read-only", async ({ page, browser, url, pageErrors, note }) => {
  // A seed of its own, so that no earlier run of this file is reused from the cache.
  const seed = String(Date.now() % 1_000_000_000);
  const title = `e2e smile ${seed}`;
  await page.goto(url + "/studies/new");
  await page.click('[data-model="european_option"]');
  await page.waitForSelector('[data-testid="sweep-strike"]');
  await page.fill('[data-field="title"]', title);
  await page.fill('[data-field="parameters.spot"]', "100");
  await page.fill('[data-field="parameters.paths"]', "1000000");
  await page.click('[data-field="sweep.strike.mode"][data-mode="list"]');
  await page.fill('[data-field="sweep.strike.values"]', STRIKES.join(", "));
  await page.click('[data-field="sweep.volatility.mode"][data-mode="list"]');
  await page.fill('[data-field="sweep.volatility.values"]', VOLATILITIES.join(", "));
  await page.check('[data-field="crn"]');
  await page.fill('[data-field="seed"]', seed);
  await page.waitForFunction(() => document.querySelector('[data-testid="study-point-count"]')?.getAttribute("data-points") === "6");
  await shot(page, "40-new-study");
  const t0 = Date.now();
  await page.click('[data-testid="submit-study"]');
  await page.waitForURL((u) => /^\/studies\/[^/]+$/.test(u.pathname) && u.pathname !== "/studies/new", { timeout: 30_000 });
  const studyId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
  await page.waitForSelector('[data-testid="study-page"]');
  assert.equal(await page.textContent('[data-testid="study-title"]'), title);
  assert.match(await page.textContent('[data-testid="study-design"]'), /^Grid 2 × 3$/);

  // The page fills in from one WatchStudy stream to the end of the study.
  await waitStudyState(page, "SUCCEEDED");
  note(`6 points submitted to SUCCEEDED on the page in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await page.waitForSelector('[data-testid="study-heatmap"][data-chart-state="ready"]', { timeout: 30_000 });
  let rows = await tableRows(page);
  assert.equal(rows.length, 6, `table rows: ${JSON.stringify(rows)}`);
  assert.ok(
    rows.every((r) => r.state === "SUCCEEDED" && Number.isFinite(r.estimate) && r.estimate > 0),
    `not every point finished with an estimate: ${JSON.stringify(rows)}`,
  );
  assert.deepEqual(
    rows.map((r) => r.index),
    [0, 1, 2, 3, 4, 5],
  );
  await shot(page, "41-study-succeeded");
  await page.click('[data-testid="chart-view-line"]');
  await page.waitForSelector('[data-testid="study-chart"][data-chart-state="ready"]');

  // Sort by estimate, descending: the rows come in that order.
  await page.click('[data-testid="sort-estimate"]');
  await page.click('[data-testid="sort-estimate"]');
  await page.waitForSelector('[data-testid="points-table"][data-sort="estimate:desc"]');
  rows = await tableRows(page);
  const estimates = rows.map((r) => r.estimate);
  assert.deepEqual(estimates, [...estimates].sort((a, b) => b - a), `not sorted by estimate: ${estimates}`);
  // A call is worth more at the lower strike and the higher volatility.
  assert.equal(rows[0].index, 2, `the dearest point is ${rows[0].index}, not strike 95 at volatility 0.25`);
  await shot(page, "42-study-sorted");

  // Compare the two strikes at volatility 0.2 (points 1 and 4): with common random numbers the
  // paired error is far below the independent one.
  for (const i of [1, 4]) await page.check(`[data-point-index="${i}"] input[type="checkbox"]`);
  await page.click('[data-testid="compare-points"]');
  const diff = await (await page.waitForSelector('[data-testid="compare-difference"]')).textContent();
  assert.match(diff, /^-?[\d.,]+(e-?\d+)? ± [\d.,]+(e-?\d+)?$/, `difference shown as ${diff}`);
  const paired = Number((await page.textContent('[data-testid="compare-stderr"]')).replace(/,/g, ""));
  const independent = Number((await page.textContent('[data-testid="compare-stderr-independent"]')).replace(/,/g, ""));
  assert.ok(paired > 0 && paired < independent, `paired stderr ${paired} is not below the independent ${independent}`);
  note(`compare points 1 and 4: ${diff}, stderr ${paired} paired vs ${independent} independent`);
  await shot(page, "43-study-compare");

  // The CSV: a header and a row per point.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-csv"]')]);
  const file = join(OUT, "downloaded-study.csv");
  await download.saveAs(file);
  const lines = readFileSync(file, "utf8").trim().split(/\r?\n/);
  assert.equal(lines.length, 7, `study.csv has ${lines.length} lines:\n${lines.join("\n")}`);

  // A point's run page names the point and leads back.
  const point = rows.find((r) => r.index === 3);
  await page.click(`[data-point-index="3"] [data-testid="point-link"]`);
  await page.waitForURL((u) => u.pathname === point.href, { timeout: 30_000 });
  await page.waitForSelector('[data-testid="run-page"][data-state="SUCCEEDED"]');
  await page.waitForFunction((t) => document.querySelector('[data-testid="study-point"]')?.textContent === `Point 3 of study ${t}`, title);
  await shot(page, "44-study-point-run");
  await page.click('[data-testid="study-point-link"]');
  await page.waitForURL((u) => u.pathname === `/studies/${encodeURIComponent(studyId)}`);
  await waitStudyState(page, "SUCCEEDED", 30_000);
  await page.goBack();
  await page.waitForSelector('[data-testid="run-page"]');
  await page.goBack();
  await page.waitForSelector('[data-testid="study-page"]');

  // Share the study: a fresh context sees it read-only, with the same points.
  await page.click('[data-testid="share"]');
  await page.waitForSelector('[data-testid="share-panel"]');
  await page.selectOption('[data-testid="share-expiry"]', "86400");
  await page.click('[data-testid="share-create"]');
  const link = await (await page.waitForSelector('[data-testid="share-url"]')).inputValue();
  assert.ok(new RegExp(`/studies/${studyId}\\?share=simlab_share_`).test(link), `share URL looks wrong: ${link}`);
  const token = new URL(link).searchParams.get("share");
  await page.waitForSelector('[data-testid="share-links"] tr[data-link-state="active"]');
  await shot(page, "45-study-share-panel");
  const owner = (await tableRows(page)).map(({ index, estimate }) => ({ index, estimate })).sort((a, b) => a.index - b.index);

  const { ctx, page: viewer, calls } = await sharedContext(browser, pageErrors);
  try {
    await viewer.goto(link);
    await waitStudyState(viewer, "SUCCEEDED", 60_000);
    await viewer.waitForSelector('[data-testid="shared-badge"]');
    for (const sel of ['[data-testid="share"]', '[data-testid="cancel-study"]', 'nav[aria-label="Main"]', 'nav[aria-label="Breadcrumb"]']) {
      assert.ok((await viewer.$(sel)) === null, `the shared view shows ${sel}`);
    }
    const shared = (await tableRows(viewer)).map(({ index, estimate }) => ({ index, estimate }));
    assert.deepEqual(shared, owner, "the shared view's points differ from the owner's");
    const csv = await viewer.getAttribute('[data-testid="download-csv"]', "href");
    assert.ok(csv.endsWith(`?share=${token}`), `the CSV link lacks the token: ${csv}`);
    await viewer.waitForSelector('[data-testid="study-heatmap"][data-chart-state="ready"]', { timeout: 30_000 });
    await shot(viewer, "46-study-shared");
    // Its points open read-only with the same token.
    await viewer.click(`[data-point-index="0"] [data-testid="point-link"]`);
    await viewer.waitForSelector('[data-testid="run-page"][data-state="SUCCEEDED"]');
    await expectReadOnly(viewer);
    assert.equal(new URL(viewer.url()).searchParams.get("share"), token, `the point's address lost the token: ${viewer.url()}`);
    await viewer.waitForFunction(() => /^Point 0 of study /.test(document.querySelector('[data-testid="study-point"]')?.textContent ?? ""));
    await shot(viewer, "47-study-shared-point");
    const methods = await expectShareTokenSent(calls, token);
    for (const m of ["WatchStudy", "WatchJob"]) assert.ok(methods.has(m), `the shared pages never called ${m}: ${[...methods].join(", ")}`);
  } finally {
    await ctx.close();
  }
});
