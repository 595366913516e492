// Precision targets in the browser: submit with "Stop at precision", see where the run stopped,
// repeat it (a cache hit: "cached from"), then "Add samples" with a tighter target (a new run
// that "extends" the first).
import assert from "node:assert/strict";
import { e2eFile } from "./support/flow.mjs";
import { fillForm, shot, submitAndOpen, waitState } from "./support/helpers.mjs";

const flow = e2eFile(import.meta.url);

flow("submit with a precision target, stop shown; repeat is a cache hit; Add samples makes a run that extends it", async ({ page, url }) => {
  // A seed of its own, so that no earlier run of this file is reused.
  const seed = String(Date.now() % 1_000_000_000);
  await page.goto(url + "/new");
  await fillForm(page, "european_option", { spot: "100", strike: "105", paths: "20000000", seed });
  await page.check('[data-field="precision.enabled"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="sample-tag"]')?.textContent === "budget: max samples");
  await page.fill('[data-field="precision.rel_tol"]', "0.01");
  await shot(page, "30-new-precision");
  const first = await submitAndOpen(page);
  await waitState(page, "SUCCEEDED", 180_000);
  const reason = await (await page.waitForSelector('[data-testid="stop-reason"]')).textContent();
  assert.equal(reason, "Precision reached");
  const halfWidth = await page.textContent('[data-testid="stop-half-width"]');
  assert.match(halfWidth, /^±\S+ \(target ±\S+\) at 95 %$/);
  await page.waitForSelector('[data-testid="convergence-chart"][data-chart-state="ready"]');
  await shot(page, "31-run-precision-stop");

  // Run again with the same seed and target: the finished run is reused at once.
  await page.click('[data-testid="run-again"]');
  await page.waitForURL(/\/new\?from=/);
  await page.waitForFunction(() => document.querySelector('[data-field="precision.rel_tol"]')?.value === "0.01");
  const cached = await submitAndOpen(page);
  assert.notEqual(cached, first);
  await waitState(page, "SUCCEEDED", 10_000);
  const badge = await page.waitForSelector('[data-testid="cached-from"]');
  assert.equal(await badge.getAttribute("href"), `/runs/${encodeURIComponent(first)}`);
  await shot(page, "32-run-cached");

  // Add samples to the first run, with a tighter target.
  await page.goto(`${url}/runs/${encodeURIComponent(first)}`);
  await waitState(page, "SUCCEEDED");
  await page.click('[data-testid="add-samples"]');
  await page.fill('[data-testid="extend-panel"] [data-field="samples"]', "40000000");
  await page.fill('[data-testid="extend-panel"] [data-field="precision.rel_tol"]', "0.005");
  await shot(page, "33-add-samples");
  await page.click('[data-testid="extend-submit"]');
  await page.waitForURL((u) => u.pathname.startsWith("/runs/") && !u.pathname.endsWith(encodeURIComponent(first)), { timeout: 30_000 });
  const extended = await page.waitForSelector('[data-testid="extends"]');
  assert.equal(await extended.getAttribute("href"), `/runs/${encodeURIComponent(first)}`);
  await waitState(page, "SUCCEEDED", 180_000);
  await page.waitForSelector('[data-testid="stop-summary"]');
  await shot(page, "34-run-extended");
});
