// Two finished runs picked on the runs list and compared.
import assert from "node:assert/strict";
import { e2eFile } from "./support/flow.mjs";
import { fillForm, finishedOptionRun, noteLatency, shot, submitAndOpen, waitState } from "./support/helpers.mjs";

const flow = e2eFile(import.meta.url);

flow("compare two runs", async ({ page, url, note }) => {
  const first = finishedOptionRun(url, { volatility: 0.2 });
  first.catch(() => {}); // awaited below; meanwhile a failure is not "unhandled"
  await page.goto(url + "/new");
  await fillForm(page, "european_option", { spot: "100", strike: "105", volatility: "0.3", paths: "20000000", seed: "11" });
  const second = await submitAndOpen(page);
  await waitState(page, "SUCCEEDED", 180_000);
  await noteLatency(page, note);
  // Pick both on the runs list and compare.
  const firstId = await first;
  await page.goto(url + "/");
  await page.waitForSelector('[data-testid="runs-table"]');
  await page.check(`tr[data-job-id="${firstId}"] input[type=checkbox]`);
  await page.check(`tr[data-job-id="${second}"] input[type=checkbox]`);
  await shot(page, "12-runs-list");
  await page.click('[data-testid="compare-selected"]');
  await page.waitForURL(/\/compare\?ids=/);
  await page.waitForSelector('[data-testid="compare-chart"][data-chart-state="ready"]', { timeout: 30_000 });
  const diff = await page.textContent('[data-testid="param-diff"]');
  assert.ok(diff.includes("0.3") && diff.includes("0.2"), `parameter diff lacks the volatilities: ${diff}`);
  await page.waitForSelector('[data-testid="summary-diff"]');
  await shot(page, "13-compare");
});
