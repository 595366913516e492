// A running run through a network drop and a cancel; a run that fails.
import assert from "node:assert/strict";
import { e2eFile } from "./support/flow.mjs";
import { fillForm, noteLatency, progressValue, shot, submitAndOpen, waitState } from "./support/helpers.mjs";

const flow = e2eFile(import.meta.url);

flow("reconnect after a network drop, then cancel a long run", async ({ page, url, note }) => {
  await page.goto(url + "/new");
  await fillForm(page, "pi", { samples: "10000000000" });
  await submitAndOpen(page);
  await waitState(page, "RUNNING", 90_000);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="progress"]')?.getAttribute("aria-valuenow")) > 0, null, { timeout: 60_000 });
  // A network drop: the page says so, then resumes the stream where it left off.
  let before;
  try {
    await page.context().setOffline(true);
    await page.waitForSelector('[data-testid="reconnecting"]', { timeout: 30_000 });
    await page.waitForTimeout(1500);
    await shot(page, "10-run-reconnecting");
    before = await progressValue(page);
  } finally {
    await page.context().setOffline(false);
  }
  await page.waitForSelector('[data-testid="reconnecting"]', { state: "detached", timeout: 30_000 });
  await page.waitForFunction((b) => Number(document.querySelector('[data-testid="progress"]')?.getAttribute("aria-valuenow")) > b, before, { timeout: 30_000 });
  await page.click('[data-testid="cancel"]');
  await waitState(page, "CANCELLED", 60_000);
  await noteLatency(page, note);
  await page.waitForSelector('[data-testid="timeline"] >> text=Cancelled');
  await shot(page, "11-run-cancelled");
});

flow("a failed run shows its message and traceback", async ({ page, url }) => {
  await page.goto(url + "/new");
  await page.waitForSelector('[data-model="european_option"]');
  if (!(await page.$('[data-model="test_failing"]'))) throw new Error("the test model test_failing is not installed (tests/support)");
  await fillForm(page, "test_failing", {});
  await submitAndOpen(page);
  await waitState(page, "FAILED", 120_000);
  const msg = await page.textContent('[data-testid="failure"]');
  assert.ok(/exploded on purpose/.test(msg), `failure card says: ${msg}`);
  const tb = await page.textContent('[data-testid="traceback"]');
  assert.ok(/Traceback|ValueError/.test(tb), `no traceback: ${tb}`);
  // The logs are open next to the error.
  assert.ok((await page.getAttribute('[data-testid="logs"]', "data-open")) === "true", "the failed run's logs are collapsed");
  await page.waitForSelector('[data-testid="logs-status"][data-connection="ended"]', { timeout: 30_000 });
  await shot(page, "17-run-failed");
});
