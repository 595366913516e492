// A finished run's page: its results, downloads, Run again, and its URL opened elsewhere.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { e2eFile } from "./support/flow.mjs";
import { finishedOptionRun, shot, waitState } from "./support/helpers.mjs";
import { OUT } from "./support/stack.mjs";

const flow = e2eFile(import.meta.url);

flow("result chart visible and a file downloaded", async ({ page, url }) => {
  const id = await finishedOptionRun(url, { seed: 7 });
  await page.goto(`${url}/runs/${id}`);
  await waitState(page, "SUCCEEDED");
  await page.waitForSelector('[data-testid="summary-table"]');
  await page.waitForSelector('[data-testid="result-chart"][data-chart-state="ready"]', { timeout: 30_000 });
  await page.waitForSelector('[data-testid="convergence-chart"][data-chart-state="ready"]');
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="plot-png"]');
    return img && img.complete && img.naturalWidth > 0;
  });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-summary.json"]')]);
  const file = join(OUT, "downloaded-summary.json");
  await download.saveAs(file);
  const summary = JSON.parse(readFileSync(file, "utf8"));
  assert.ok(typeof summary === "object" && summary !== null, "summary.json is not an object");
  const [csv] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-data.csv"]')]);
  assert.ok(csv.suggestedFilename().endsWith(".csv"), `csv download named ${csv.suggestedFilename()}`);
  await shot(page, "07-run-succeeded");
  // Run again: the form comes back prefilled with this run's parameters.
  await page.click('[data-testid="run-again"]');
  await page.waitForURL(/\/new\?from=/);
  await page.waitForFunction(() => document.querySelector('[data-field="parameters.strike"]')?.value === "105");
  assert.ok((await page.inputValue('[data-field="seed"]')) === "7", "seed not prefilled");
});

flow("the run URL works in a second browser context", async ({ page, url }) => {
  // The run comes from the API, so this context has never seen it.
  const id = await finishedOptionRun(url);
  await page.goto(`${url}/runs/${id}`);
  await waitState(page, "SUCCEEDED");
  await page.waitForSelector('[data-testid="summary-table"]');
  await page.waitForSelector('[data-testid="timeline"]');
  await shot(page, "08-run-second-context");
  await page.goto(`${url}/runs/does-not-exist-123`);
  await page.waitForSelector("text=Run not found");
  await shot(page, "09-run-not-found");
});
