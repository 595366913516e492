// A run submitted from the form, followed live until it succeeds.
import assert from "node:assert/strict";
import { e2eFile } from "./support/flow.mjs";
import { fillForm, noteLatency, progressValue, shot, submitAndOpen, waitState } from "./support/helpers.mjs";

const flow = e2eFile(import.meta.url);

flow("submit from the form and watch progress move", async ({ page, url, note }) => {
  await page.goto(url + "/new");
  await fillForm(page, "european_option", { spot: "100", strike: "105", paths: "150000000", seed: "7" });
  await shot(page, "05-new-filled");
  await submitAndOpen(page);
  await waitState(page, ["RUNNING", "SUCCEEDED"], 60_000);
  const seen = new Set();
  const t0 = Date.now();
  let shotTaken = false;
  while (Date.now() - t0 < 120_000) {
    const v = await progressValue(page);
    if (v > 0 && v < 100) seen.add(v);
    if (!shotTaken && v > 20 && v < 90) {
      await page.waitForSelector('[data-testid="convergence-chart"][data-chart-state="ready"]');
      await shot(page, "06-run-live");
      shotTaken = true;
    }
    if ((await page.getAttribute('[data-testid="run-page"]', "data-state")) === "SUCCEEDED") break;
    await page.waitForTimeout(150);
  }
  assert.ok(seen.size >= 2, `progress did not move while running (values seen: ${[...seen].join(", ")})`);
  await waitState(page, "SUCCEEDED", 180_000);
  await noteLatency(page, note);
  note(`progress values seen while running: ${seen.size}`);
});
